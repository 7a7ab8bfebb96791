package mdns

import (
	"errors"
	"net"

	"golang.org/x/sys/unix"
)

// onlyJoinedGroups turns off IP_MULTICAST_ALL (and its IPv6 twin): Linux
// otherwise delivers to a socket bound to port 5353 the mDNS traffic of
// every interface where any process joined the group — a router's avahi
// listening on its WAN port would hand Hearth the WAN's queries.
func onlyJoinedGroups(c *net.UDPConn, v6 bool) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		if v6 {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL, 0)
			if errors.Is(serr, unix.ENOPROTOOPT) {
				serr = nil // kernels before 4.20: the interface check in readLoop still applies
			}
			return
		}
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MULTICAST_ALL, 0)
	})
	if err != nil {
		return err
	}
	return serr
}

// bindToDevice limits c to traffic of one interface (SO_BINDTODEVICE).
// It is what keeps a zeroconf server off other interfaces for IPv6, where
// the kernel checks group membership by address only, whatever the
// interface: without it, a query reaching the box on its WAN port (when
// any other program joined ff02::fb there) is answered on the WAN port.
// Unprivileged processes may do this since Linux 5.7; root always.
func bindToDevice(c *net.UDPConn, iface string) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, iface)
	})
	if err != nil {
		return err
	}
	return serr
}
