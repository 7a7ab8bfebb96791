package channel

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine/mutable"
)

// goneLAN is a LAN source whose mDNS view has nobody advertising the
// channel (the neighbours churn, or just left): every Lookup fails as the
// real one does then, with peers if set (addresses of neighbours gone).
// It counts lookups.
type goneLAN struct {
	peers   []string
	lookups atomic.Int64
}

func (l *goneLAN) Lookup(context.Context, [20]byte) ([]mutable.Item, []string, error) {
	l.lookups.Add(1)
	return nil, l.peers, fmt.Errorf("%w: no Hearth device on the LAN advertises the channel", mutable.ErrNotFound)
}

// publishVersions starts a publisher (no DHT) and publishes versions 1..n
// of a channel of small photos; it returns the node, the channel's link,
// the signed item of each version, and the publisher's peer address.
func publishVersions(t *testing.T, n int) (*node, string, []mutable.Item, netip.AddrPort) {
	t.Helper()
	pub := startNode(t, "publisher", nodeOptions{})
	src := t.TempDir()
	if _, err := pub.m.Create("Photos", nil); err != nil {
		t.Fatal(err)
	}
	var (
		items []mutable.Item
		link  string
	)
	for v := 1; v <= n; v++ {
		p := filepath.Join(src, fmt.Sprintf("IMG_%04d.jpg", v))
		writeFiles(t, src, map[string]int64{filepath.Base(p): 60_000})
		if _, err := pub.m.AddItems("Photos", []string{p}); err != nil {
			t.Fatal(err)
		}
		ch, err := pub.m.Publish(context.Background(), "Photos")
		if err != nil || ch.Version != int64(v) {
			t.Fatalf("Publish = version %d, %v; want %d", ch.Version, err, v)
		}
		held := pub.m.Held()
		if len(held) != 1 || held[0].Seq != int64(v) {
			t.Fatalf("publisher holds %d items, want version %d's", len(held), v)
		}
		items = append(items, held[0])
		link = ch.Link
	}
	peer := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(pub.eng.Stats().PeerPort))
	return pub, link, items, peer
}

// goneLANSubscriber subscribes a new node to link behind lan, with no
// limit on the wait for a peer (a peer that never reaches the fetch is a
// test timeout, not a slow pass) and, when noPolls, no check but the ones
// the test causes.
func goneLANSubscriber(t *testing.T, link string, lan *goneLAN, noPolls bool) (*node, Subscription) {
	t.Helper()
	sub := startNode(t, "subscriber", nodeOptions{lan: lan, opts: func(o *Options) {
		o.FetchTimeout = 10 * time.Minute
		if noPolls {
			o.PollInterval = time.Hour
		}
	}})
	sub.m.noPeerWait = time.Hour
	s, _, err := sub.m.Subscribe(context.Background(), link, SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sub, s
}

// TestOfferedPeers: a version a LAN neighbour offers installs from the
// neighbour's address even when the subscriber's own lookups find no
// peer (CI once saw a subscriber take an offer right after its check
// failed during mDNS churn, then fetch the version's metadata from
// nobody until its test gave up). No DHT: nothing else can find a peer.
// The manager waits for a peer to be offered without limit here, so a
// peer that does not reach the fetch is a test timeout, not a slow pass.
func TestOfferedPeers(t *testing.T) {
	t.Run("offer after a failed check", func(t *testing.T) {
		_, link, items, peer := publishVersions(t, 1)
		sub, s := goneLANSubscriber(t, link, &goneLAN{}, false)
		waitSub(t, sub, s.ID, 20*time.Second, "the first check to fail", func(s Subscription) bool {
			return strings.Contains(s.Error, "advertises the channel")
		})
		if err := sub.m.Offer(items[0], peer); err != nil {
			t.Fatalf("Offer(version 1, %s) = %v", peer, err)
		}
		waitSub(t, sub, s.ID, 60*time.Second, "version 1 from the peer offered", synced(1))
	})

	// A fetch under way takes a peer offered: one waiting for a peer (no
	// DHT, none known), and one asking a peer that is gone.
	for _, known := range [][]string{nil, {"127.0.0.1:1"}} {
		t.Run(fmt.Sprintf("peer offered during a fetch from %d peers", len(known)), func(t *testing.T) {
			testOfferDuringFetch(t, known)
		})
	}

	t.Run("newer version offered during a fetch", func(t *testing.T) {
		_, link, items, peer := publishVersions(t, 2)
		sub, s := goneLANSubscriber(t, link, &goneLAN{}, false)
		if err := sub.m.Offer(items[0]); err != nil {
			t.Fatalf("Offer(version 1) = %v", err)
		}
		waitSub(t, sub, s.ID, 20*time.Second, "the fetch of version 1", func(s Subscription) bool {
			return s.State == StateFetching && s.Latest == 1
		})
		// Offer waits for the subscription's current operation: the fetch
		// of version 1, which has no peer and must stop for version 2.
		errc := make(chan error, 1)
		go func() { errc <- sub.m.Offer(items[1], peer) }()
		waitSub(t, sub, s.ID, 60*time.Second, "version 2 from the peer offered", synced(2))
		if err := <-errc; err != nil {
			t.Fatalf("Offer(version 2, %s) = %v", peer, err)
		}
	})
}

// testOfferDuringFetch: the lookups find known (no peer, or dead ones);
// the item offered alone starts a fetch that cannot succeed; the same
// item offered with a peer must reach that fetch.
func testOfferDuringFetch(t *testing.T, known []string) {
	_, link, items, peer := publishVersions(t, 1)
	lan := &goneLAN{peers: known}
	sub, s := goneLANSubscriber(t, link, lan, true)
	waitSub(t, sub, s.ID, 20*time.Second, "the first check to fail", func(s Subscription) bool {
		return strings.Contains(s.Error, "advertises the channel")
	})
	// The item alone (a neighbour that gave no port): the fetch waits.
	if err := sub.m.Offer(items[0]); err != nil {
		t.Fatalf("Offer(version 1) = %v", err)
	}
	waitSub(t, sub, s.ID, 20*time.Second, "the fetch of version 1", func(s Subscription) bool {
		return s.State == StateFetching
	})
	lookups := lan.lookups.Load()
	// The same item again, from a neighbour with a peer port.
	if err := sub.m.Offer(items[0], peer); err != nil {
		t.Fatalf("Offer(version 1, %s) = %v", peer, err)
	}
	got := waitSub(t, sub, s.ID, 60*time.Second, "version 1 from the peer offered", synced(1))
	if n := lan.lookups.Load(); n != lookups {
		t.Errorf("%d lookups while the fetch waited, want %d: the peer must reach the fetch under way, not a new check", n, lookups)
	}
	if got.Error != "" {
		t.Errorf("error = %q, want none", got.Error)
	}
	// Installed: the same offer again adds the peer to the torrent and
	// starts no check.
	if err := sub.m.Offer(items[0], peer); err != nil {
		t.Fatalf("Offer(version 1, %s) once installed = %v", peer, err)
	}
	sub.m.mu.Lock()
	_, due := sub.m.next[pollTask(s.ID)]
	running := sub.m.running[pollTask(s.ID)]
	sub.m.mu.Unlock()
	n := lan.lookups.Load()
	if next := mustSub(t, sub, s.ID).NextCheck; running || n != lookups || due && time.Until(next) < 30*time.Minute {
		t.Errorf("after an offer of the version installed: check running %v, %d new lookups, next at %v; want no check", running, n-lookups, next)
	}
}

func TestPeerAddrs(t *testing.T) {
	ap := netip.MustParseAddrPort
	in := []netip.AddrPort{
		ap("192.168.1.7:6881"), {}, ap("0.0.0.0:6881"), ap("192.168.1.8:0"), ap("224.0.0.251:5353"),
		ap("192.168.1.7:6881"), ap("[fe80::1%eth0]:6881"), ap("[::]:1"),
	}
	got := peerAddrs(in)
	want := []string{"192.168.1.7:6881", "[fe80::1%eth0]:6881"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("peerAddrs(%v) = %q, want %q", in, got, want)
	}
	var many []netip.AddrPort
	for i := range 40 {
		many = append(many, netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), uint16(1000+i)))
	}
	if n := len(peerAddrs(many)); n != maxOfferPeers {
		t.Errorf("peerAddrs of 40 addresses: %d, want %d", n, maxOfferPeers)
	}
}
