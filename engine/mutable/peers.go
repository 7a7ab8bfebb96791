package mutable

import (
	"container/list"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	peer_store "github.com/anacrolix/dht/v2/peer-store"
)

// Bounds of the peer store ConfigureServer gives every DHT node.
const (
	// PeerStoreHashes is how many infohashes a node keeps peers for; the
	// least recently announced goes first.
	PeerStoreHashes = 256
	// PeerStorePeers is how many peers a node keeps per infohash (and
	// answers at most, 576 bytes as IPv6); the oldest announce goes first.
	PeerStorePeers = 32
	// PeerLifetime is how long an announce counts: BitTorrent clients
	// announce again every 15 to 30 minutes.
	PeerLifetime = 30 * time.Minute
	// maxPortsPerIP bounds the peers one address may hold for an
	// infohash: several devices behind one NAT are real, a host filling
	// the list with ports to push the others out is not.
	maxPortsPerIP = 4
)

// PeerStore keeps the peers announced to a DHT node (announce_peer) and
// hands them to get_peers, bounded for small devices: at most maxHashes
// infohashes (the least recently announced evicted first), maxPeers peers
// each (the oldest announce evicted first, at most 4 per IP address), each
// forgotten ttl after its last announce.
//
// anacrolix's torrent client leaves its DHT node without a peer store, so
// the node neither answers get_peers with peers nor even hands out the
// write token an announce needs: on a DHT made of Hearth devices alone
// nobody would find anybody's torrents. anacrolix's peer_store.InMemory
// has no bound and no expiry and keys peers by IP alone (the last of
// several peers behind one address wins). Peers are told apart by
// address and port here.
//
// A PeerStore is safe for concurrent use (the DHT server adds peers from
// a goroutine per announce).
type PeerStore struct {
	maxHashes, maxPeers int
	ttl                 time.Duration
	now                 func() time.Time // for tests

	mu     sync.Mutex
	hashes map[peer_store.InfoHash]*list.Element // of *peerSet
	order  list.List                             // front: announced most recently
}

type peerSet struct {
	ih    peer_store.InfoHash
	peers map[netip.AddrPort]time.Time // last announce
}

// NewPeerStore returns a store of at most maxHashes infohashes with
// maxPeers peers each, forgotten ttl after their last announce (0 means
// PeerLifetime).
func NewPeerStore(maxHashes, maxPeers int, ttl time.Duration) *PeerStore {
	if ttl <= 0 {
		ttl = PeerLifetime
	}
	return &PeerStore{
		maxHashes: max(maxHashes, 0),
		maxPeers:  max(maxPeers, 0),
		ttl:       ttl,
		now:       time.Now,
		hashes:    make(map[peer_store.InfoHash]*list.Element),
	}
}

var _ peer_store.Interface = (*PeerStore)(nil)

// AddPeer records an announce of ih by na. Addresses no peer can have
// (unspecified, multicast, port 0) are ignored.
func (s *PeerStore) AddPeer(ih peer_store.InfoHash, na krpc.NodeAddr) {
	ip, ok := netip.AddrFromSlice(na.IP)
	if !ok || na.Port <= 0 || na.Port > 65535 || s.maxHashes == 0 || s.maxPeers == 0 {
		return
	}
	ip = ip.Unmap()
	if ip.IsUnspecified() || ip.IsMulticast() {
		return
	}
	key := netip.AddrPortFrom(ip, uint16(na.Port))
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	el, ok := s.hashes[ih]
	if ok {
		s.order.MoveToFront(el)
	} else {
		for len(s.hashes) >= s.maxHashes {
			s.removeHash(s.order.Back())
		}
		el = s.order.PushFront(&peerSet{ih: ih, peers: make(map[netip.AddrPort]time.Time)})
		s.hashes[ih] = el
	}
	set := el.Value.(*peerSet)
	if _, known := set.peers[key]; !known {
		s.expire(set, now)
		sameIP := 0
		for p := range set.peers {
			if p.Addr() == ip {
				sameIP++
			}
		}
		if sameIP >= maxPortsPerIP {
			delete(set.peers, oldest(set.peers, func(p netip.AddrPort) bool { return p.Addr() == ip }))
		}
		if len(set.peers) >= s.maxPeers {
			delete(set.peers, oldest(set.peers, func(netip.AddrPort) bool { return true }))
		}
	}
	set.peers[key] = now
}

// GetPeers returns the peers announced for ih within the lifetime.
func (s *PeerStore) GetPeers(ih peer_store.InfoHash) []krpc.NodeAddr {
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.hashes[ih]
	if !ok {
		return nil
	}
	set := el.Value.(*peerSet)
	s.expire(set, s.now())
	if len(set.peers) == 0 {
		s.removeHash(el)
		return nil
	}
	out := make([]krpc.NodeAddr, 0, len(set.peers))
	for p := range set.peers {
		out = append(out, krpc.NodeAddr{IP: net.IP(p.Addr().AsSlice()), Port: int(p.Port())})
	}
	return out
}

// Len returns how many infohashes and peers the store holds, expired
// ones included until they are next looked at.
func (s *PeerStore) Len() (hashes, peers int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, el := range s.hashes {
		peers += len(el.Value.(*peerSet).peers)
	}
	return len(s.hashes), peers
}

func (s *PeerStore) expire(set *peerSet, now time.Time) {
	for p, at := range set.peers {
		if now.Sub(at) >= s.ttl {
			delete(set.peers, p)
		}
	}
}

func (s *PeerStore) removeHash(el *list.Element) {
	delete(s.hashes, el.Value.(*peerSet).ih)
	s.order.Remove(el)
}

// oldest returns the peer of peers with the earliest announce among those
// match accepts.
func oldest(peers map[netip.AddrPort]time.Time, match func(netip.AddrPort) bool) netip.AddrPort {
	var (
		who   netip.AddrPort
		when  time.Time
		found bool
	)
	for p, at := range peers {
		if match(p) && (!found || at.Before(when)) {
			who, when, found = p, at, true
		}
	}
	return who
}
