package mdns

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
)

// wanPrefixes are interface names that look like an uplink or a virtual
// network nobody browses from: never picked by the default rule (an
// explicit list may still name them).
var wanPrefixes = []string{"wan", "ppp", "wwan", "docker", "veth", "virbr"}

// Interfaces resolves which interfaces to advertise and browse on.
//
// With names, it returns exactly those interfaces that are up and can
// multicast, in the given order; a name that does not exist is an error
// (a typo in the config must not silently advertise nowhere), one that is
// down or has no multicast is left out.
//
// Without names it applies the default rule: every interface that is up,
// multicast-capable, neither loopback nor point-to-point (PPP, VPN
// tunnels), whose name does not start with wan, ppp, wwan, docker, veth or
// virbr, and that has an address in a private or link-local IPv4 range
// (10/8, 172.16/12, 192.168/16, 169.254/16) or an IPv6 unique local
// address (fc00::/7). An IPv6 link-local address does not count: every
// interface has one, WAN ports included. A router's WAN port with a
// private address (behind another router) passes this rule: on routers,
// name the LAN interfaces explicitly (e.g. "br-lan").
func Interfaces(names []string) ([]net.Interface, error) {
	all, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list network interfaces: %w", err)
	}
	if len(names) > 0 {
		byName := make(map[string]net.Interface, len(all))
		for _, ifi := range all {
			byName[ifi.Name] = ifi
		}
		var out []net.Interface
		seen := map[string]bool{}
		for _, n := range names {
			ifi, ok := byName[n]
			if !ok {
				return nil, fmt.Errorf("%w: no network interface %q", ErrConfig, n)
			}
			if seen[n] || !usable(ifi) {
				continue
			}
			seen[n] = true
			out = append(out, ifi)
		}
		return out, nil
	}
	var out []net.Interface
	for _, ifi := range all {
		if ifi.Flags&(net.FlagLoopback|net.FlagPointToPoint) != 0 || !usable(ifi) || wanLooking(ifi.Name) {
			continue
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			continue
		}
		if hasLANAddr(addrs) {
			out = append(out, ifi)
		}
	}
	return out, nil
}

func usable(ifi net.Interface) bool {
	return ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagMulticast != 0
}

func wanLooking(name string) bool {
	name = strings.ToLower(name)
	for _, p := range wanPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

var linkLocal4 = netip.MustParsePrefix("169.254.0.0/16")

// hasLANAddr reports whether addrs include a private or link-local IPv4
// address or an IPv6 unique local address.
func hasLANAddr(addrs []net.Addr) bool {
	for _, a := range addrs {
		p, ok := prefixOf(a)
		if !ok {
			continue
		}
		ip := p.Addr().Unmap()
		if ip.Is4() && (ip.IsPrivate() || linkLocal4.Contains(ip)) {
			return true
		}
		if ip.Is6() && ip.IsPrivate() { // fc00::/7
			return true
		}
	}
	return false
}

func prefixOf(a net.Addr) (netip.Prefix, bool) {
	n, ok := a.(*net.IPNet)
	if !ok {
		return netip.Prefix{}, false
	}
	ip, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	bits, _ := n.Mask.Size()
	return netip.PrefixFrom(ip.Unmap(), bits), true
}

// ifaceState is what the advertiser compares between polls: a change in
// it means re-registering (new interface set, or new addresses to
// announce).
func ifaceState(ifaces []net.Interface) string {
	var b strings.Builder
	for _, ifi := range ifaces {
		fmt.Fprintf(&b, "%s/%d/%v:", ifi.Name, ifi.Index, ifi.Flags)
		addrs, _ := ifi.Addrs()
		var s []string
		for _, a := range addrs {
			s = append(s, a.String())
		}
		sort.Strings(s)
		b.WriteString(strings.Join(s, ","))
		b.WriteByte(';')
	}
	return b.String()
}

func ifaceNames(ifaces []net.Interface) []string {
	out := make([]string, len(ifaces))
	for i, ifi := range ifaces {
		out[i] = ifi.Name
	}
	return out
}
