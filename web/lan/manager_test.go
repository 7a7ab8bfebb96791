package lan

import (
	"bytes"
	"context"
	"crypto/rand"
	"maps"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-media/hearth/device/mdns"
	"github.com/hearth-media/hearth/engine/channel"
	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/engine/mutable"
)

func TestMain(m *testing.M) {
	enginetest.ClassicFileIO()
	os.Exit(m.Run())
}

// bus stands in for mDNS between in-process devices: a device's SetTXT
// reaches every other device's Source as the Updated event its browser
// would report. (The mDNS path itself runs in the netns test of
// cmd/hearth.)
type bus struct {
	mu   sync.Mutex
	devs []*chanDevice
}

type chanDevice struct {
	name string
	bus  *bus
	node *enginetest.Node
	m    *channel.Manager
	src  *Source
	port int

	mu  sync.Mutex
	txt map[string]string
}

func (d *chanDevice) SetTXT(extra map[string]string) error {
	d.mu.Lock()
	d.txt = maps.Clone(extra)
	d.mu.Unlock()
	d.bus.announce(d, mdns.Updated)
	return nil
}

func (d *chanDevice) entry() mdns.Entry {
	d.mu.Lock()
	txt := maps.Clone(d.txt)
	d.mu.Unlock()
	if txt == nil {
		txt = map[string]string{}
	}
	txt[mdns.KeyID] = d.name
	return mdns.Entry{Instance: d.name, Service: mdns.ServiceHearth, Port: d.port,
		Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, TXT: txt, ID: d.name}
}

func (b *bus) announce(from *chanDevice, kind mdns.EventKind) {
	b.mu.Lock()
	devs := append([]*chanDevice(nil), b.devs...)
	b.mu.Unlock()
	for _, d := range devs {
		if d != from {
			d.src.event(context.Background(), mdns.Event{Kind: kind, Entry: from.entry()})
		}
	}
}

// join starts a device: engine on loopback without DHT, channel manager
// with the Source as its LAN, the endpoint on an httptest server. Polls
// are an hour apart, and so are the Source's reads of Held, as in the
// daemon: what arrives sooner came through the LAN push, started by the
// manager's OnChange.
func (b *bus) join(t *testing.T, name string) *chanDevice {
	t.Helper()
	n := enginetest.StartNode(t, enginetest.NodeOptions{})
	d := &chanDevice{name: name, bus: b, node: n}
	src, err := New(Options{ID: name, Advertiser: d, Logger: enginetest.Logger(t).With("device", name),
		PeerPort: func() int { return n.Engine.Stats().PeerPort }, HeldInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	src.onLink = func(a netip.Addr) bool { return a.IsLoopback() }
	d.src = src
	m, err := channel.New(channel.Options{
		Engine: n.Engine, Store: n.Store, LAN: src, Logger: enginetest.Logger(t).With("device", name),
		Dir:           filepath.Join(n.Dir, "channels"),
		DownloadDir:   func() string { return n.Engine.Settings().DownloadDir },
		PollInterval:  time.Hour,
		PublishDelay:  -1,
		PieceLength:   32 << 10,
		LookupTimeout: 5 * time.Second,
		FetchTimeout:  20 * time.Second,
		OnChange:      src.HeldChanged,
	})
	if err != nil {
		t.Fatal(err)
	}
	d.m = m
	src.SetHolder(m)
	srv := httptest.NewServer(src.Handler())
	d.port = int(netip.MustParseAddrPort(srv.Listener.Addr().String()).Port())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); m.Serve(ctx) }()
	go func() { defer wg.Done(); src.Serve(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait(); srv.Close() })

	b.mu.Lock()
	others := append([]*chanDevice(nil), b.devs...)
	b.devs = append(b.devs, d)
	b.mu.Unlock()
	for _, o := range others {
		o.src.event(context.Background(), mdns.Event{Kind: mdns.Added, Entry: d.entry()})
		d.src.event(context.Background(), mdns.Event{Kind: mdns.Added, Entry: o.entry()})
	}
	return d
}

func writeFile(t *testing.T, path string, size int) {
	t.Helper()
	b := make([]byte, size)
	rand.Read(b)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func waitSynced(t *testing.T, d *chanDevice, link string, version int64, timeout time.Duration) channel.Subscription {
	t.Helper()
	var s channel.Subscription
	var err error
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		s, err = d.m.Subscription(link)
		if err == nil && s.Version == version && s.State == channel.StateSynced {
			return s
		}
	}
	t.Fatalf("%s: version %d not synced within %s: version %d, state %q, error %q, reject %q (%v)",
		d.name, version, timeout, s.Version, s.State, s.Error, s.LastReject, err)
	return s
}

func sameFile(t *testing.T, want, got string) {
	t.Helper()
	a, err1 := os.ReadFile(want)
	b, err2 := os.ReadFile(got)
	if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
		t.Errorf("%s differs from %s (%v, %v)", got, want, err1, err2)
	}
}

// TestChannelOverLAN: real channel managers and engines on loopback, no
// DHT: a subscriber gets version 1 through Lookup, and version 2 because
// the publisher's record changed, long before its next poll (an hour).
func TestChannelOverLAN(t *testing.T) {
	if testing.Short() {
		t.Skip("two engines")
	}
	b := &bus{}
	pub := b.join(t, "publisher")
	sub := b.join(t, "subscriber")
	ctx := context.Background()

	src := t.TempDir()
	writeFile(t, filepath.Join(src, "Holiday", "IMG_0001.jpg"), 300_000)
	writeFile(t, filepath.Join(src, "Holiday", "IMG_0002.jpg"), 200_000)
	ch := publishAndSubscribe(t, pub, sub, filepath.Join(src, "Holiday"))
	s := waitSynced(t, sub, ch.Link, 1, 60*time.Second)
	sameFile(t, filepath.Join(ch.Dir, "Holiday", "IMG_0001.jpg"), filepath.Join(s.Dir, "Holiday", "IMG_0001.jpg"))

	writeFile(t, filepath.Join(src, "IMG_0003.jpg"), 250_000)
	if _, err := pub.m.AddItems("Photos", []string{filepath.Join(src, "IMG_0003.jpg")}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ch, err := pub.m.Publish(ctx, "Photos")
	if err != nil || ch.Version != 2 {
		t.Fatalf("Publish = version %d, %v; want 2", ch.Version, err)
	}
	s = waitSynced(t, sub, ch.Link, 2, 60*time.Second)
	t.Logf("version 2 synced %s after publish (LAN push, in process)", time.Since(start).Round(time.Millisecond))
	sameFile(t, filepath.Join(ch.Dir, "IMG_0003.jpg"), filepath.Join(s.Dir, "IMG_0003.jpg"))
	if s.NewItems != 3 {
		t.Errorf("subscription has %d new items, want 3 (2 in version 1, 1 in version 2)", s.NewItems)
	}
}

// publishAndSubscribe creates the channel "Photos" on pub with the files
// at paths, publishes version 1 and subscribes sub to it.
func publishAndSubscribe(t *testing.T, pub, sub *chanDevice, paths ...string) channel.Channel {
	t.Helper()
	ctx := context.Background()
	if _, err := pub.m.Create("Photos", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.m.AddItems("Photos", paths); err != nil {
		t.Fatal(err)
	}
	ch, err := pub.m.Publish(ctx, "Photos")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sub.m.Subscribe(ctx, ch.Link, channel.SubscribeOptions{}); err != nil {
		t.Fatal(err)
	}
	return ch
}

// leavingHolder is the subscriber's channel manager as its LAN source
// sees it, with the neighbour leaving the source's view (mDNS churn)
// between the fetch of its item and the offer: the manager's own lookup
// then finds nobody.
type leavingHolder struct {
	Holder
	leave func()
}

func (h leavingHolder) Offer(it mutable.Item, peers ...netip.AddrPort) error {
	h.leave()
	return h.Holder.Offer(it, peers...)
}

// TestOfferFromNeighbourThatLeft is the LAN offer that never installed
// (CI, TestReliabilitySwarm): a subscriber's first check finds no
// neighbour, the publisher's record then shows up and its item is pushed,
// and the publisher drops out of the subscriber's view at once. The
// version installs from the address that came with the push. (Before the
// fix the manager fetched the metadata from the peers of its own lookup:
// none, until its fetch timed out, again and again.)
func TestOfferFromNeighbourThatLeft(t *testing.T) {
	if testing.Short() {
		t.Skip("two engines")
	}
	b := &bus{}
	pub := b.join(t, "publisher")
	sub := b.join(t, "subscriber")
	ctx := context.Background()
	// The subscriber hears of the publisher only when the test says.
	b.mu.Lock()
	b.devs = []*chanDevice{pub}
	b.mu.Unlock()
	sub.src.event(ctx, mdns.Event{Kind: mdns.Removed, Entry: pub.entry()})

	src := t.TempDir()
	writeFile(t, filepath.Join(src, "IMG_0001.jpg"), 300_000)
	ch := publishAndSubscribe(t, pub, sub, filepath.Join(src, "IMG_0001.jpg"))
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		s, err := sub.m.Subscription(ch.Link)
		if err == nil && strings.Contains(s.Error, "advertises the channel") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("first check: state %q, error %q (%v); want it failed: nobody advertises the channel", s.State, s.Error, err)
		}
	}
	offers := make(chan []netip.AddrPort, 1)
	sub.src.SetHolder(offerSpy{Holder: leavingHolder{Holder: sub.m, leave: func() {
		sub.src.event(ctx, mdns.Event{Kind: mdns.Removed, Entry: pub.entry()})
	}}, c: offers})
	sub.src.event(ctx, mdns.Event{Kind: mdns.Added, Entry: pub.entry()})
	want := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(pub.node.Engine.Stats().PeerPort))
	if got := <-offers; len(got) != 1 || got[0] != want {
		t.Errorf("offered with peers %v, want %v", got, want)
	}
	s := waitSynced(t, sub, ch.Link, 1, 60*time.Second)
	sameFile(t, filepath.Join(ch.Dir, "IMG_0001.jpg"), filepath.Join(s.Dir, "IMG_0001.jpg"))
}

// offerSpy passes offers on and reports their peers on c (the first only).
type offerSpy struct {
	Holder
	c chan []netip.AddrPort
}

func (h offerSpy) Offer(it mutable.Item, peers ...netip.AddrPort) error {
	select {
	case h.c <- peers:
	default:
	}
	return h.Holder.Offer(it, peers...)
}
