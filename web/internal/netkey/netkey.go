// Package netkey says which addresses count as one client for the web
// layer's limits: an IPv4 address, or an IPv6 /64 (a host picks addresses
// in its /64 at will, so one IPv6 address would not bound it).
package netkey

import "net/netip"

// Client is a's client: the /32 of an IPv4 address (IPv4-mapped IPv6
// addresses included) or the /64 of an IPv6 one, without zone. The zero
// Prefix for an invalid address.
func Client(a netip.Addr) netip.Prefix {
	a = a.Unmap().WithZone("")
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}
