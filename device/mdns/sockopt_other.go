//go:build !linux

package mdns

import "net"

// onlyJoinedGroups is a no-op outside Linux (IP_MULTICAST_ALL is Linux's);
// readLoop's interface check still drops traffic from other interfaces.
func onlyJoinedGroups(c *net.UDPConn, v6 bool) error { return nil }

// bindToDevice is Linux only; elsewhere a zeroconf server may answer on
// interfaces where another program joined the mDNS group.
func bindToDevice(c *net.UDPConn, iface string) error { return nil }
