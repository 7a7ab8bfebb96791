package lan

import (
	"crypto/ed25519"
	"crypto/rand"
	"net/http/httptest"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hearth-media/hearth/device/mdns"
	"github.com/hearth-media/hearth/engine/mutable"
)

// channelKey is a channel's signing key in the tests.
type channelKey struct {
	priv ed25519.PrivateKey
	salt []byte
}

func newChannel(t testing.TB, salt string) channelKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return channelKey{priv: priv, salt: []byte(salt)}
}

// item signs version seq of the channel, pointing at a made-up infohash.
func (c channelKey) item(t testing.TB, seq int64) mutable.Item {
	t.Helper()
	var ih [20]byte
	rand.Read(ih[:])
	it, err := mutable.Sign(c.priv, c.salt, seq, mutable.InfohashValue(ih))
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func (c channelKey) target() [20]byte {
	var pub [32]byte
	copy(pub[:], c.priv.Public().(ed25519.PublicKey))
	return mutable.Target(pub, c.salt)
}

// memHolder holds items in memory and records what it is offered: the
// channel manager's two methods, without a manager.
type memHolder struct {
	mu     sync.Mutex
	items  map[[20]byte]mutable.Item
	offers []offerCall
}

// offerCall is one call of Offer.
type offerCall struct {
	it    mutable.Item
	peers []netip.AddrPort
}

func newHolder(items ...mutable.Item) *memHolder {
	h := &memHolder{items: map[[20]byte]mutable.Item{}}
	for _, it := range items {
		h.set(it)
	}
	return h
}

func (h *memHolder) set(it mutable.Item) {
	h.mu.Lock()
	h.items[it.Target()] = it
	h.mu.Unlock()
}

func (h *memHolder) Held() []mutable.Item {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []mutable.Item
	for _, it := range h.items {
		out = append(out, it)
	}
	return out
}

func (h *memHolder) Offer(it mutable.Item, peers ...netip.AddrPort) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.offers = append(h.offers, offerCall{it, slices.Clone(peers)})
	return nil
}

func (h *memHolder) offered() []offerCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.offers)
}

// device is a Source serving its endpoint on loopback.
type device struct {
	id     string
	src    *Source
	holder *memHolder
	srv    *httptest.Server
	port   int
}

func newDevice(t testing.TB, id string, peerPort int, h *memHolder) *device {
	t.Helper()
	s, err := New(Options{ID: id, Holder: h, PeerPort: func() int { return peerPort }, FetchTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Loopback stands in for the LAN here.
	s.onLink = func(a netip.Addr) bool { return a.IsLoopback() }
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	ap := netip.MustParseAddrPort(srv.Listener.Addr().String())
	d := &device{id: id, src: s, holder: h, srv: srv, port: int(ap.Port())}
	s.refreshHeld()
	return d
}

// entry is the mDNS entry a browser would report for d, with its current
// TXT keys.
func (d *device) entry() mdns.Entry {
	d.src.mu.Lock()
	txt := map[string]string{}
	for k, v := range d.src.txt {
		txt[k] = v
	}
	d.src.mu.Unlock()
	txt[mdns.KeyID] = d.id
	return mdns.Entry{
		Instance: "Device " + d.id, Service: mdns.ServiceHearth, Port: d.port,
		Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, TXT: txt, ID: d.id,
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
