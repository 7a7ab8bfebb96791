package mutable

import (
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	peer_store "github.com/anacrolix/dht/v2/peer-store"
)

func peerAddrs(nas []krpc.NodeAddr) []string {
	out := make([]string, len(nas))
	for i, na := range nas {
		out[i] = na.String()
	}
	slices.Sort(out)
	return out
}

func na(ip string, port int) krpc.NodeAddr { return krpc.NodeAddr{IP: net.ParseIP(ip), Port: port} }

func TestPeerStore(t *testing.T) {
	clock := time.Unix(1_800_000_000, 0)
	s := NewPeerStore(3, 5, time.Minute)
	s.now = func() time.Time { return clock }
	tick := func(d time.Duration) { clock = clock.Add(d) }
	ih := func(b byte) peer_store.InfoHash { return peer_store.InfoHash{b} }

	// Peers are told apart by address and port: two devices on one host
	// (loopback tests) or behind one NAT are two peers.
	s.AddPeer(ih(1), na("127.0.0.1", 6881))
	tick(time.Second)
	s.AddPeer(ih(1), na("127.0.0.1", 6882))
	s.AddPeer(ih(1), na("::ffff:127.0.0.1", 6882)) // the same peer, IPv4-mapped
	s.AddPeer(ih(1), na("2001:db8::1", 51413))
	if got, want := peerAddrs(s.GetPeers(ih(1))), []string{"127.0.0.1:6881", "127.0.0.1:6882", "[2001:db8::1]:51413"}; !slices.Equal(got, want) {
		t.Errorf("GetPeers = %v, want %v", got, want)
	}
	for _, bad := range []krpc.NodeAddr{na("0.0.0.0", 1), na("127.0.0.1", 0), na("224.0.0.1", 1), {Port: 1}, na("10.0.0.1", 70000)} {
		s.AddPeer(ih(1), bad)
	}
	if n := len(s.GetPeers(ih(1))); n != 3 {
		t.Errorf("%d peers after announces from impossible addresses, want still 3", n)
	}
	if got := s.GetPeers(ih(9)); got != nil {
		t.Errorf("GetPeers(unknown) = %v, want none", got)
	}

	// At most 4 ports per address: the oldest of that address goes.
	for p := 1; p <= 6; p++ {
		tick(time.Second)
		s.AddPeer(ih(2), na("192.0.2.7", 7000+p))
	}
	if got, want := peerAddrs(s.GetPeers(ih(2))), []string{"192.0.2.7:7003", "192.0.2.7:7004", "192.0.2.7:7005", "192.0.2.7:7006"}; !slices.Equal(got, want) {
		t.Errorf("GetPeers after 6 ports of one address = %v, want the newest 4 %v", got, want)
	}
	// At most 5 peers per infohash: the oldest announce goes; an announce
	// again refreshes a peer.
	tick(time.Second)
	s.AddPeer(ih(2), na("192.0.2.7", 7003))
	tick(time.Second)
	s.AddPeer(ih(2), na("192.0.2.8", 1))
	tick(time.Second)
	s.AddPeer(ih(2), na("192.0.2.9", 1))
	if got, want := peerAddrs(s.GetPeers(ih(2))), []string{"192.0.2.7:7003", "192.0.2.7:7005", "192.0.2.7:7006", "192.0.2.8:1", "192.0.2.9:1"}; !slices.Equal(got, want) {
		t.Errorf("GetPeers past the cap = %v, want %v", got, want)
	}

	// At most 3 infohashes: the least recently announced goes (ih 1 was
	// read since, but reading does not count).
	s.AddPeer(ih(3), na("192.0.2.1", 1))
	s.AddPeer(ih(4), na("192.0.2.1", 1))
	if s.GetPeers(ih(1)) != nil || s.GetPeers(ih(2)) == nil {
		t.Errorf("after a fourth infohash: ih 1 has %v, ih 2 %v; want ih 1 evicted", s.GetPeers(ih(1)), s.GetPeers(ih(2)))
	}
	if h, p := s.Len(); h != 3 || p != 7 {
		t.Errorf("Len = %d infohashes, %d peers; want 3 and 7", h, p)
	}

	// Announces count for the lifetime, then are forgotten.
	tick(59 * time.Second)
	s.AddPeer(ih(3), na("192.0.2.2", 2))
	tick(2 * time.Second)
	if got := peerAddrs(s.GetPeers(ih(3))); !slices.Equal(got, []string{"192.0.2.2:2"}) {
		t.Errorf("GetPeers after a minute = %v, want only the fresh announce", got)
	}
	if got := s.GetPeers(ih(4)); got != nil {
		t.Errorf("GetPeers of an expired infohash = %v, want none", got)
	}
	if h, _ := s.Len(); h != 2 {
		t.Errorf("%d infohashes held, want 2 (the expired one dropped when read)", h)
	}
}

// TestPeerStoreBound fills a store from many addresses and infohashes:
// it never holds more than its bounds.
func TestPeerStoreBound(t *testing.T) {
	s := NewPeerStore(PeerStoreHashes, PeerStorePeers, 0)
	for i := range 4 * PeerStoreHashes {
		for p := range 3 * PeerStorePeers {
			s.AddPeer(peer_store.InfoHash{byte(i), byte(i >> 8)}, na("10.1."+strconv.Itoa(p)+".1", 1000+i))
		}
	}
	if h, p := s.Len(); h != PeerStoreHashes || p != PeerStoreHashes*PeerStorePeers {
		t.Errorf("Len = %d infohashes, %d peers; want %d and %d", h, p, PeerStoreHashes, PeerStoreHashes*PeerStorePeers)
	}
}
