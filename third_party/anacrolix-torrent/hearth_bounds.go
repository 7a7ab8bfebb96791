package torrent

// Hearth: bounds on tables that remote peers fill. v1.59.1 keeps these
// for the life of the Client (or the process, for expvar maps), and a
// device running for a year with 64 MB of RAM cannot.

import (
	"expvar"
	"net"
	"net/netip"
)

const (
	// maxBannedPeerIPs bounds the ban list; the oldest ban goes first.
	maxBannedPeerIPs = 4096
	// maxHolepunchStatAddrs bounds each of the holepunch statistics
	// sets (every address a dial ever failed to, …): they only feed
	// ClientStats and are cleared when full.
	maxHolepunchStatAddrs = 1024
	// maxDopplegangerAddrs bounds the addresses known to be ourselves;
	// cleared when full (the cost is one more connection to ourselves).
	maxDopplegangerAddrs = 256
	// maxAcceptLimited bounds the accept limiter between its 15-minute
	// clears; when full, new sources are not added until the next clear.
	maxAcceptLimited = 4096
	// maxPeerExtensionNames bounds the extension names kept per
	// connection; the ones this library speaks are always kept.
	maxPeerExtensionNames = 64
	// maxRemoteLiveConns bounds the addresses a connection's PEX
	// messages say it is connected to (BEP 11 allows 50 added a
	// minute); past it, new ones are not recorded.
	maxRemoteLiveConns = 1024
	// pexMaxLag is how far behind the torrent's PEX event feed a
	// connection may fall before it is sent the live connections anew.
	pexMaxLag = 500
	// maxVarKeys bounds the keys of an expvar map keyed by what peers
	// send; past it, new keys count under "other".
	maxVarKeys = 64
	// maxIncomingHandshakes bounds the accepted connections whose
	// handshakes are in progress: each holds a goroutine and buffers for
	// up to HandshakesTimeout, and v1.59.1 started one per accepted
	// connection without a cap. Past it, connections are closed as they
	// are accepted. Real peers finish handshaking in a round trip or two.
	maxIncomingHandshakes = 64
)

// hearthTakeHandshake counts an accepted connection's handshake in, or
// reports that maxIncomingHandshakes are in progress.
func (cl *Client) hearthTakeHandshake() bool {
	for {
		n := cl.hearthHandshaking.Load()
		if n >= maxIncomingHandshakes {
			return false
		}
		if cl.hearthHandshaking.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// banKey is the ban list key of ip: IPv4 addresses in IPv4 form, so a
// 16-byte IPv4 slice and a 4-byte one ban and match the same key.
func banKey(ip netip.Addr) netip.Addr {
	return ip.Unmap()
}

// banPeerIPLocked adds ip to the ban list, dropping the oldest ban when
// the list is full.
func (cl *Client) banPeerIPLocked(ip netip.Addr) {
	ip = banKey(ip)
	if cl.badPeerIPs == nil {
		cl.badPeerIPs = make(map[netip.Addr]struct{})
	}
	if _, ok := cl.badPeerIPs[ip]; ok {
		return
	}
	for len(cl.badPeerIPs) >= maxBannedPeerIPs && len(cl.badPeerIPOrder) > 0 {
		delete(cl.badPeerIPs, cl.badPeerIPOrder[0])
		cl.badPeerIPOrder = cl.badPeerIPOrder[1:]
	}
	cl.badPeerIPs[ip] = struct{}{}
	cl.badPeerIPOrder = append(cl.badPeerIPOrder, ip)
}

// ipBanned reports whether ip is on the ban list.
func (cl *Client) ipBanned(ip netip.Addr) bool {
	_, ok := cl.badPeerIPs[banKey(ip)]
	return ok
}

// addDoppleganger records addr as one of our own.
func (cl *Client) addDoppleganger(addr string) {
	if len(cl.dopplegangerAddrs) >= maxDopplegangerAddrs {
		clear(cl.dopplegangerAddrs)
	}
	cl.dopplegangerAddrs[addr] = struct{}{}
}

// setAddBounded is setAdd for the holepunch statistics sets.
func setAddBounded[K comparable](m *map[K]struct{}, elem K) {
	if len(*m) >= maxHolepunchStatAddrs {
		clear(*m)
	}
	setAdd(m, elem)
}

// maskIPv6ForAcceptLimiting: one host may hold a whole /64.
func maskIPv6ForAcceptLimiting(ip net.IP) net.IP {
	return ip.Mask(net.CIDRMask(64, 128))
}

// builtinExtension reports whether this library speaks extension name.
func builtinExtension(name string) bool {
	switch name {
	case "ut_metadata", "ut_pex", "ut_holepunch":
		return true
	}
	return false
}

// boundedVarKey returns key, or "other" when m already holds maxVarKeys
// keys and key is not one of them.
func boundedVarKey(m *expvar.Map, key string) string {
	if m.Get(key) != nil {
		return key
	}
	n := 0
	m.Do(func(expvar.KeyValue) { n++ })
	if n >= maxVarKeys {
		return "other"
	}
	return key
}
