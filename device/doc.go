// Package device is Hearth's hardware and LAN presence: the box's buttons
// and LEDs through GPIO (periph.io), and mDNS/DNS-SD advertisement so
// phones find the device (zeroconf). Each sits behind a small interface
// with a fake for tests; the engine never imports this package — the
// daemon (cmd/hearth/serve.go) connects them.
//
// Nothing is implemented yet: it arrives with the issue "On the LAN and on
// the box: mDNS discovery, GPIO buttons and LEDs".
package device
