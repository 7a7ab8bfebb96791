package mutable

import (
	"bytes"
	"container/list"
	"crypto/ed25519"
	"crypto/sha1"
	"net"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/bep44"
	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/torrent/bencode"
	"golang.org/x/time/rate"
)

// ItemLifetime is how long a node keeps an item that is not put again
// (BEP 44: items may expire after 2 hours; owners re-put hourly).
const ItemLifetime = 2 * time.Hour

// Store is the DHT node's item store (anacrolix's bep44.Store), bounded
// for small devices: at most max items in memory, each expiring
// ItemLifetime after its last put, the least recently put evicted first
// when full. anacrolix's default store has no bound and drops expired
// items only when they are read again, so any node on the internet
// could fill a router's memory with puts.
//
// Put checks every item itself (value and salt sizes, signature,
// sequence and CAS rules) although the DHT server's bep44.Wrapper runs
// its own checks first: the store must stay safe for any caller, and
// the Wrapper gets CAS wrong (it compares the incoming cas with the cas
// the stored put carried, not with the stored seq; the store keeps no
// cas so that check never fires, and does the BEP 44 one instead).
//
// A Store is safe for concurrent use.
type Store struct {
	max int
	exp time.Duration
	now func() time.Time // for tests

	mu    sync.Mutex
	items map[bep44.Target]*list.Element // of *storeEntry
	order list.List                      // front: put most recently
	stats StoreStats
}

type storeEntry struct {
	target bep44.Target
	item   bep44.Item
	put    time.Time
}

// StoreStats count what a Store did since it was made.
type StoreStats struct {
	Items    int // held now
	Stored   int // puts accepted (new items, updates and refreshes)
	Rejected int // puts refused by a check
	Evicted  int // items dropped to make room
	Expired  int // items dropped because nobody put them again in time
}

// NewStore returns a store of at most maxItems items (0 stores none)
// that expire exp after their last put (0 means ItemLifetime).
func NewStore(maxItems int, exp time.Duration) *Store {
	if exp <= 0 {
		exp = ItemLifetime
	}
	return &Store{
		max:   max(maxItems, 0),
		exp:   exp,
		now:   time.Now,
		items: make(map[bep44.Target]*list.Element),
	}
}

var (
	errNotStoring = krpc.Error{Code: krpc.ErrorCodeServerError, Msg: "not storing items"}
	errBadSeq     = krpc.Error{Code: krpc.ErrorCodeProtocolError, Msg: "negative seq"}
	errBadValue   = krpc.Error{Code: krpc.ErrorCodeProtocolError, Msg: "value is not bencode"}
)

// Put stores i, or returns the krpc.Error the DHT server sends back.
func (s *Store) Put(i *bep44.Item) error {
	err := s.put(i)
	s.mu.Lock()
	if err != nil {
		s.stats.Rejected++
	} else {
		s.stats.Stored++
	}
	s.mu.Unlock()
	return err
}

func (s *Store) put(i *bep44.Item) error {
	if s.max == 0 {
		return errNotStoring
	}
	bv, err := bencode.Marshal(i.V)
	if err != nil || len(bv) == 0 {
		return errBadValue
	}
	if len(bv) > MaxValueSize {
		return bep44.ErrValueFieldTooBig
	}
	// A put from the network arrives decoded, but a bencode.Bytes value
	// from any other caller could be anything, and a node must not serve
	// a value that breaks the bencoding of its replies (FuzzStorePut).
	if wellFormed(bv) != nil {
		return errBadValue
	}
	mutable := i.IsMutable()
	var target bep44.Target
	if mutable {
		if len(i.Salt) > MaxSaltSize {
			return bep44.ErrSaltFieldTooBig
		}
		if i.Seq < 0 {
			return errBadSeq
		}
		if !ed25519.Verify(i.K[:], SignedBuffer(i.Salt, i.Seq, bv), i.Sig[:]) {
			return bep44.ErrInvalidSignature
		}
		target = Target(i.K, i.Salt)
	} else {
		target = sha1.Sum(bv)
	}
	// A copy keeps the fields the Wrapper set (its unexported put time);
	// the value is kept encoded, which is smaller than decoded and
	// re-encodes to the same bytes.
	cp := *i
	cp.V = bencode.Bytes(bv)
	cp.Salt = bytes.Clone(i.Salt)
	cp.Cas = 0
	if !mutable {
		cp.Salt, cp.Seq, cp.Sig = nil, 0, [64]byte{}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if el, ok := s.items[target]; ok {
		e := el.Value.(*storeEntry)
		if s.expired(e, now) {
			s.remove(el)
			s.stats.Expired++
		} else {
			if mutable {
				old := e.item
				sameValue := bytes.Equal(old.V.(bencode.Bytes), bv)
				switch {
				case i.Seq < old.Seq, i.Seq == old.Seq && !sameValue:
					return bep44.ErrSequenceNumberLessThanCurrent
				case i.Cas != 0 && i.Cas != old.Seq:
					return bep44.ErrCasHashMismatched
				}
			}
			e.item = cp
			e.put = now
			s.order.MoveToFront(el)
			return nil
		}
	}
	for len(s.items) >= s.max {
		back := s.order.Back()
		if s.expired(back.Value.(*storeEntry), now) {
			s.stats.Expired++
		} else {
			s.stats.Evicted++
		}
		s.remove(back)
	}
	s.items[target] = s.order.PushFront(&storeEntry{target: target, item: cp, put: now})
	s.stats.Items = len(s.items)
	return nil
}

// Get returns a copy of the item stored under t, or bep44.ErrItemNotFound.
func (s *Store) Get(t bep44.Target) (*bep44.Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.items[t]
	if !ok {
		return nil, bep44.ErrItemNotFound
	}
	e := el.Value.(*storeEntry)
	if s.expired(e, s.now()) {
		s.remove(el)
		s.stats.Expired++
		return nil, bep44.ErrItemNotFound
	}
	cp := e.item
	return &cp, nil
}

// Del removes the item stored under t, if any.
func (s *Store) Del(t bep44.Target) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.items[t]; ok {
		s.remove(el)
	}
	return nil
}

// Stats returns the store's counters.
func (s *Store) Stats() StoreStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Items = len(s.items)
	return st
}

func (s *Store) expired(e *storeEntry, now time.Time) bool {
	return now.Sub(e.put) >= s.exp
}

func (s *Store) remove(el *list.Element) {
	delete(s.items, el.Value.(*storeEntry).target)
	s.order.Remove(el)
	s.stats.Items = len(s.items)
}

var _ bep44.Store = (*Store)(nil)

// The send limit ConfigureServer gives a server when no limiter is
// passed: anacrolix's rate (packets a second) with a bigger burst. Replies
// go through the same limiter without waiting and are dropped when it is
// empty; with anacrolix's burst of 25, one get and one put of our own
// (about 25 sends on a small DHT) left a node deaf to others for a
// second.
const (
	DefaultSendRate  = 25
	DefaultSendBurst = 100
)

// ConfigureServer returns a function for engine.Options.ConfigureDHT
// (anacrolix's ClientConfig.ConfigureAnacrolixDhtServer) that makes a
// DHT node fit to carry channels:
//
//   - its item store is a Store of at most maxItems items
//     (config channels.dht_items);
//   - items live ItemLifetime: the torrent client leaves the server's
//     expiry at zero, which makes the node drop every item the moment
//     it is read, so without this it never serves any;
//   - it sends through limiter (nil: a new limiter of DefaultSendRate
//     per server) instead of anacrolix's limiter shared by every DHT
//     node in the process, over which replies are silently dropped;
//   - queries without arguments are dropped: anacrolix v2.23.0
//     dereferences them in its put and announce_peer handlers, so one
//     such packet would crash the process;
//   - queries of methods the server does not serve are dropped before
//     it reads them (when c.Conn is set, as the torrent client and
//     mutabletest do): anacrolix v2.23.0 keeps each method name it is
//     sent in a process-global expvar map, forever (queryFilter);
//   - it keeps the peers announced to it, in a PeerStore of
//     PeerStoreHashes infohashes and PeerStorePeers peers each, and
//     answers get_peers with them: the torrent client leaves the node
//     without one, so it would neither answer with peers nor hand out
//     the token an announce needs.
//
// Each server it configures gets its own Store and PeerStore.
func ConfigureServer(maxItems int, limiter *rate.Limiter) func(*dht.ServerConfig) {
	return func(c *dht.ServerConfig) {
		NewStore(maxItems, ItemLifetime).Configure(c, limiter)
	}
}

// Configure applies ConfigureServer's settings to c with s as the item
// store (tests keep the Store to look inside). A peer store already set
// in c is kept.
func (s *Store) Configure(c *dht.ServerConfig, limiter *rate.Limiter) {
	c.Store = s
	c.Exp = s.exp
	if c.Conn != nil {
		c.Conn = queryFilter{c.Conn}
	}
	if c.PeerStore == nil {
		c.PeerStore = NewPeerStore(PeerStoreHashes, PeerStorePeers, PeerLifetime)
	}
	if limiter == nil {
		limiter = rate.NewLimiter(DefaultSendRate, DefaultSendBurst)
	}
	c.SendLimiter = limiter
	next := c.OnQuery
	c.OnQuery = func(m *krpc.Msg, source net.Addr) bool {
		if m.A == nil {
			return false
		}
		if next != nil {
			return next(m, source)
		}
		return true
	}
}
