package lan

import (
	"context"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-media/hearth/device/mdns"
	"github.com/hearth-media/hearth/engine/mutable"
)

func TestLookup(t *testing.T) {
	c := newChannel(t, "")
	v1, v2 := c.item(t, 1), c.item(t, 2)
	oldDev := newDevice(t, "old", 6001, newHolder(v1))
	newDev := newDevice(t, "new", 6002, newHolder(v2))
	unrelated := newDevice(t, "unrelated", 6003, newHolder(newChannel(t, "").item(t, 1)))
	me := newDevice(t, "me", 6004, newHolder())
	ctx := context.Background()

	if _, _, err := me.src.Lookup(ctx, c.target()); !errors.Is(err, mutable.ErrNotFound) {
		t.Errorf("Lookup with no neighbours = %v, want ErrNotFound", err)
	}
	for _, d := range []*device{oldDev, newDev, unrelated} {
		me.src.event(context.Background(), mdns.Event{Kind: mdns.Added, Entry: d.entry()})
	}
	items, peers, err := me.src.Lookup(ctx, c.target())
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Seq != 2 || items[0].Sig != v2.Sig {
		t.Errorf("Lookup = %d items (first seq %d), want only the newest (seq 2)", len(items), seqOf(items))
	}
	slices.Sort(peers)
	if want := []string{"127.0.0.1:6001", "127.0.0.1:6002"}; !slices.Equal(peers, want) {
		t.Errorf("Lookup peers = %v, want %v (every holder, not the unrelated device)", peers, want)
	}
	// The unrelated device was not asked: its tags do not match.
	if _, _, err := me.src.Lookup(ctx, newChannel(t, "").target()); !errors.Is(err, mutable.ErrNotFound) {
		t.Errorf("Lookup of a channel nobody holds = %v, want ErrNotFound", err)
	}

	// A neighbour that says goodbye is no longer asked.
	me.src.event(context.Background(), mdns.Event{Kind: mdns.Removed, Entry: newDev.entry()})
	items, peers, _ = me.src.Lookup(ctx, c.target())
	if len(items) != 1 || items[0].Seq != 1 || !slices.Equal(peers, []string{"127.0.0.1:6001"}) {
		t.Errorf("after the newer device left: Lookup = seq %d, peers %v; want seq 1 from the old device", seqOf(items), peers)
	}

	// Our own record (the browser sees it too) is never a neighbour.
	me.src.event(context.Background(), mdns.Event{Kind: mdns.Added, Entry: me.entry()})
	me.src.mu.Lock()
	_, self := me.src.neighbours["device me"]
	me.src.mu.Unlock()
	if self {
		t.Error("the device's own record became a neighbour")
	}
}

func seqOf(items []mutable.Item) int64 {
	if len(items) == 0 {
		return -1
	}
	return items[0].Seq
}

// TestOfferOnStampChange: a neighbour publishes a new version; when its
// record changes, the device fetches the item and offers it, once, with
// the neighbour's BitTorrent address. The version the device holds
// already is offered for the address alone (a fetch of it may have no
// peer), and not at all by a neighbour that gives no peer port.
func TestOfferOnStampChange(t *testing.T) {
	c := newChannel(t, "")
	v1 := c.item(t, 1)
	pub := newDevice(t, "pub", 6001, newHolder(v1))
	noPort := newDevice(t, "noport", 0, newHolder(v1))
	sub := newDevice(t, "sub", 6002, newHolder(v1))
	peer := netip.MustParseAddrPort("127.0.0.1:6001")
	check := func(what string, want ...mutable.Item) {
		t.Helper()
		got := sub.holder.offered()
		if len(got) != len(want) {
			t.Fatalf("%s: %d offers, want %d", what, len(got), len(want))
		}
		for i, o := range got {
			if o.it.Seq != want[i].Seq || o.it.Sig != want[i].Sig || !slices.Equal(o.peers, []netip.AddrPort{peer}) {
				t.Errorf("%s: offer %d = seq %d with peers %v, want seq %d with %v", what, i, o.it.Seq, o.peers, want[i].Seq, peer)
			}
		}
	}
	// event starts the check (wg) before it returns.
	sub.src.event(context.Background(), mdns.Event{Kind: mdns.Added, Entry: noPort.entry()})
	sub.src.wg.Wait()
	check("neighbour with the same version and no peer port")
	sub.src.event(context.Background(), mdns.Event{Kind: mdns.Added, Entry: pub.entry()})
	sub.src.wg.Wait()
	check("neighbour with the same version", v1)

	v2 := c.item(t, 2)
	pub.holder.set(v2)
	pub.src.refreshHeld()
	sub.src.event(context.Background(), mdns.Event{Kind: mdns.Updated, Entry: pub.entry()})
	sub.src.wg.Wait()
	check("neighbour with version 2", v1, v2)

	// The same record again (a pairing change, say): no new request.
	sub.holder.set(v2)
	sub.src.refreshHeld()
	e := pub.entry()
	e.PairingOpen = true
	sub.src.event(context.Background(), mdns.Event{Kind: mdns.Updated, Entry: e})
	sub.src.wg.Wait()
	check("an unrelated record change", v1, v2)
}

// TestWantedOffered: a channel looked up before any neighbour had it (a
// new subscription) is offered as soon as a neighbour advertises it.
func TestWantedOffered(t *testing.T) {
	c := newChannel(t, "")
	sub := newDevice(t, "sub", 6002, newHolder())
	if _, _, err := sub.src.Lookup(context.Background(), c.target()); !errors.Is(err, mutable.ErrNotFound) {
		t.Fatalf("Lookup = %v, want ErrNotFound", err)
	}
	pub := newDevice(t, "pub", 6001, newHolder())
	sub.src.event(context.Background(), mdns.Event{Kind: mdns.Added, Entry: pub.entry()}) // holds nothing yet
	pub.holder.set(c.item(t, 1))
	pub.src.refreshHeld()
	sub.src.event(context.Background(), mdns.Event{Kind: mdns.Updated, Entry: pub.entry()})
	sub.src.wg.Wait()
	if got := sub.holder.offered(); len(got) != 1 || got[0].it.Seq != 1 {
		t.Fatalf("%d offers, want version 1's", len(got))
	}

	// Once held, the target is no longer "wanted".
	sub.holder.set(c.item(t, 1))
	sub.src.refreshHeld()
	sub.src.mu.Lock()
	n := len(sub.src.wanted)
	sub.src.mu.Unlock()
	if n != 0 {
		t.Errorf("%d wanted targets after the channel is held, want 0", n)
	}
}

// TestManyChannelsAskAll: a neighbour with more channels than fit in its
// record says "*" and is asked about anything.
func TestManyChannelsAskAll(t *testing.T) {
	var items []mutable.Item
	var want mutable.Item
	for i := 0; i <= maxTags; i++ {
		it := newChannel(t, "").item(t, int64(i+1))
		items = append(items, it)
		want = it
	}
	big := newDevice(t, "big", 6001, newHolder(items...))
	me := newDevice(t, "me", 6002, newHolder())
	if got := big.entry().TXT[KeyChannels]; got != AllChannels {
		t.Fatalf("TXT ch with %d channels = %q, want %q", len(items), got, AllChannels)
	}
	me.src.event(context.Background(), mdns.Event{Kind: mdns.Added, Entry: big.entry()})
	got, _, err := me.src.Lookup(context.Background(), want.Target())
	if err != nil || len(got) != 1 || got[0].Seq != want.Seq {
		t.Errorf("Lookup on a '*' neighbour = %d items, %v; want its item", len(got), err)
	}
	if _, _, err := me.src.Lookup(context.Background(), newChannel(t, "").target()); !errors.Is(err, mutable.ErrNotFound) {
		t.Errorf("Lookup of an unknown channel on a '*' neighbour = %v, want ErrNotFound (its 404)", err)
	}
}

// TestAddrOnLink: only addresses inside a watched interface's networks
// are contacted. The test reads the host's interfaces (nothing is sent).
func TestAddrOnLink(t *testing.T) {
	s, err := New(Options{ID: "me"})
	if err != nil {
		t.Fatal(err)
	}
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Skip("no lo interface")
	}
	s.ifaces = []net.Interface{*lo}
	for _, a := range []string{"127.0.0.1", "127.0.0.2", "::1", "0.0.0.0", "224.0.0.251", "8.8.8.8", "192.168.1.1", "fe80::1%eth0"} {
		if s.addrOnLink(netip.MustParseAddr(a)) {
			t.Errorf("addrOnLink(%s) = true with only lo watched", a)
		}
	}
	if !s.addrOnLink(netip.MustParseAddr("fe80::1%lo")) {
		t.Error("addrOnLink(fe80::1%lo) = false; a link-local address on the watched interface is on link")
	}
}

func TestNewNeedsID(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without an id succeeded")
	}
}

// TestNeighbourLimit: a LAN flooded with fake records fills the table up
// to its bound and no further.
func TestNeighbourLimit(t *testing.T) {
	me := newDevice(t, "me", 1, newHolder())
	for i := range 3 * maxNeighbours {
		me.src.event(context.Background(), mdns.Event{Kind: mdns.Added, Entry: mdns.Entry{
			Instance: "fake " + strconv.Itoa(i), ID: "f" + strconv.Itoa(i), Port: 1,
			Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, TXT: map[string]string{KeyChannels: AllChannels},
		}})
	}
	me.src.wg.Wait()
	me.src.mu.Lock()
	n := len(me.src.neighbours)
	me.src.mu.Unlock()
	if n != maxNeighbours {
		t.Errorf("%d neighbours after %d records, want the bound %d", n, 3*maxNeighbours, maxNeighbours)
	}
}

// TestHeldChanged: a kick advertises a new version at once, not at the
// next tick (an hour away here).
func TestHeldChanged(t *testing.T) {
	c := newChannel(t, "")
	h := newHolder(c.item(t, 1))
	adv := &recordingAdvertiser{}
	s, err := New(Options{ID: "me", Holder: h, Advertiser: adv, HeldInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "the first TXT", func() bool { return adv.count() == 1 })
	first := adv.last()[KeyStamp]
	h.set(c.item(t, 2))
	s.HeldChanged()
	waitFor(t, "the TXT of version 2", func() bool { return adv.count() == 2 })
	if got := adv.last()[KeyStamp]; got == first {
		t.Errorf("stamp after version 2 = %q, unchanged", got)
	}
	s.HeldChanged() // nothing changed: no new record
	time.Sleep(50 * time.Millisecond)
	if n := adv.count(); n != 2 {
		t.Errorf("%d TXT updates after a kick without change, want still 2", n)
	}
}

// TestSetHolderAdvertises: a holder set after Serve started (the daemon
// makes the channel manager after the LAN source) is advertised at once,
// not at the next tick.
func TestSetHolderAdvertises(t *testing.T) {
	c := newChannel(t, "")
	adv := &recordingAdvertiser{}
	s, err := New(Options{ID: "me", Advertiser: adv, HeldInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	time.Sleep(50 * time.Millisecond) // Serve's first read found no holder
	s.SetHolder(newHolder(c.item(t, 1)))
	waitFor(t, "the TXT of the holder's channel", func() bool { return adv.count() == 1 })
	if got := adv.last()[KeyChannels]; got == "" || got == AllChannels {
		t.Errorf("channel tags = %q, want one tag", got)
	}
}

type recordingAdvertiser struct {
	mu   sync.Mutex
	txts []map[string]string
}

func (a *recordingAdvertiser) SetTXT(m map[string]string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.txts = append(a.txts, m)
	return nil
}

func (a *recordingAdvertiser) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.txts)
}

func (a *recordingAdvertiser) last() map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.txts[len(a.txts)-1]
}

// TestAskAllLearnsNothing: a hostile host that claims every channel
// ("ch=*") is asked about the channels the device looks up, but what it
// receives is a token bound to its own id: no target, no key, and
// nothing it could replay to another device.
func TestAskAllLearnsNothing(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.RequestURI())
		mu.Unlock()
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	ap := netip.MustParseAddrPort(srv.Listener.Addr().String())
	me := newDevice(t, "me", 1, newHolder())
	me.src.event(context.Background(), mdns.Event{Kind: mdns.Added, Entry: mdns.Entry{Instance: "greedy", ID: "greedy", Port: int(ap.Port()),
		Addrs: []netip.Addr{ap.Addr()}, TXT: map[string]string{mdns.KeyID: "greedy", KeyChannels: AllChannels}}})
	me.src.wg.Wait() // the check of the new neighbour: nothing to ask yet
	c := newChannel(t, "salt")
	it := c.item(t, 1)
	if _, _, err := me.src.Lookup(context.Background(), c.target()); !errors.Is(err, mutable.ErrNotFound) {
		t.Errorf("Lookup with only a greedy neighbour = %v, want ErrNotFound", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) != 1 {
		t.Fatalf("greedy neighbour got %d requests, want 1", len(paths))
	}
	target := c.target()
	tok := queryToken(target, "greedy")
	for _, secret := range [][]byte{target[:], it.Key[:], it.Key[:8]} {
		if strings.Contains(paths[0], hex.EncodeToString(secret)) {
			t.Errorf("request %s carries %x", paths[0], secret)
		}
	}
	if paths[0] != ItemsPath+hex.EncodeToString(tok[:]) {
		t.Errorf("request = %s, want the query token bound to the neighbour's id", paths[0])
	}
	if queryToken(target, "other") == tok {
		t.Error("query tokens do not depend on the asked device's id")
	}
}
