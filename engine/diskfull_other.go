//go:build !unix

package engine

// fsID cannot tell file systems apart here: no store reserve.
func fsID(string) (uint64, bool) { return 0, false }
