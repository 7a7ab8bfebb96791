// Package mutable is Hearth's layer over the DHT for channels: signed
// BEP 44 mutable items carrying BEP 46 values.
package mutable
