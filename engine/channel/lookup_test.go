package channel

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine/mutable"
)

// fixedLAN is a LAN source whose neighbours hold set items: the
// neighbours are scripted, the manager under test is real.
type fixedLAN struct {
	mu    sync.Mutex
	items []mutable.Item
}

func newFixedLAN(items ...mutable.Item) *fixedLAN { return &fixedLAN{items: items} }

func (l *fixedLAN) set(items ...mutable.Item) {
	l.mu.Lock()
	l.items = items
	l.mu.Unlock()
}

func (l *fixedLAN) Lookup(context.Context, [20]byte) ([]mutable.Item, []string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.items), nil, nil
}

// TestLookupOrder: the items one lookup gathers (LAN and DHT) are taken
// best first. Lower seqs of the same lookup are copies not updated yet,
// not replays: they put nothing on the subscription. A lookup whose best
// answer is below the version held is noted (lastReject) without making
// the subscription an error.
func TestLookupOrder(t *testing.T) {
	pub, priv := newKey(t)
	item := func(seq int64) mutable.Item { return sign(t, priv, nil, seq, mutable.InfohashValue(randomIH())) }
	v1, v2 := item(1), item(2)
	tests := []struct {
		name       string
		held       *mutable.Item  // offered before the first lookup
		lan        []mutable.Item // what the neighbours answer
		dht        *mutable.Item  // put into the DHT
		wantLatest int64
		wantReject string // "" = none
	}{
		{name: "LAN ahead of the DHT", lan: []mutable.Item{v2}, dht: &v1, wantLatest: 2},
		{name: "LAN answers out of order", lan: []mutable.Item{v1, v2}, wantLatest: 2},
		{name: "stale neighbour next to the held version", held: &v2, lan: []mutable.Item{v2, v1}, wantLatest: 2},
		{name: "every answer below the version held", held: &v2, lan: []mutable.Item{v1}, wantLatest: 2, wantReject: "older than the seq 2 held"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			no := nodeOptions{lan: newFixedLAN(tt.lan...), opts: func(o *Options) { o.FetchTimeout = 500 * time.Millisecond }}
			if tt.dht != nil {
				d := newTestDHT(t, 2)
				if _, err := mutable.Put(context.Background(), d.servers[0], *tt.dht); err != nil {
					t.Fatalf("put seq %d into the DHT: %v", tt.dht.Seq, err)
				}
				no.dht = d
			}
			n := startNode(t, "sub", no)
			sub, _, err := n.m.Subscribe(context.Background(), Link{PublicKey: pub, Name: "c"}.String(), SubscribeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tt.held != nil {
				if err := n.m.Offer(*tt.held); err != nil {
					t.Fatalf("Offer(seq %d) = %v", tt.held.Seq, err)
				}
			}
			// Two checks: the first may have started before the Offer.
			first := waitSub(t, n, sub.ID, 20*time.Second, "a first check", func(s Subscription) bool { return !s.CheckedAt.IsZero() })
			s := waitSub(t, n, sub.ID, 20*time.Second, "a second check", func(s Subscription) bool { return s.CheckedAt.After(first.CheckedAt) })
			if s.Latest != tt.wantLatest {
				t.Errorf("latest = %d, want %d", s.Latest, tt.wantLatest)
			}
			if tt.wantReject == "" && s.LastReject != "" {
				t.Errorf("last reject = %q, want none", s.LastReject)
			}
			if tt.wantReject != "" && !strings.Contains(s.LastReject, tt.wantReject) {
				t.Errorf("last reject = %q, want one with %q", s.LastReject, tt.wantReject)
			}
			// Nobody has the data of these versions: the fetch fails, and
			// that is the only error.
			if strings.Contains(s.Error, "rejected") || strings.Contains(s.Error, "replay") || strings.Contains(s.Error, "older") {
				t.Errorf("error = %q, want only the failed fetch", s.Error)
			}
		})
	}
}

// TestOnChange: Options.OnChange is called whenever what Held returns may
// have changed, so the LAN advertises it at once.
func TestOnChange(t *testing.T) {
	var calls atomic.Int64
	pub, priv := newKey(t)
	v1 := sign(t, priv, nil, 1, mutable.InfohashValue(randomIH()))
	v2 := sign(t, priv, nil, 2, mutable.InfohashValue(randomIH()))
	lan := newFixedLAN()
	n := startNode(t, "node", nodeOptions{lan: lan, opts: func(o *Options) {
		o.OnChange = func() { calls.Add(1) }
		o.OnStatus = func() {} // status steps are TestOnStatus's
		o.PollInterval = time.Hour
		o.FetchTimeout = 500 * time.Millisecond
	}})
	ctx := context.Background()
	step := func(what string, want int64, do func() error) {
		t.Helper()
		before := calls.Load()
		if err := do(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := calls.Load() - before; got != want {
			t.Errorf("%s: OnChange called %d times, want %d", what, got, want)
		}
	}
	var sub Subscription
	step("Subscribe", 1, func() (err error) {
		sub, _, err = n.m.Subscribe(ctx, Link{PublicKey: pub, Name: "c"}.String(), SubscribeOptions{})
		return err
	})
	first := waitSub(t, n, sub.ID, 20*time.Second, "the first check", func(s Subscription) bool { return !s.CheckedAt.IsZero() })
	step("Offer of a new item", 1, func() error { return n.m.Offer(v1) })
	step("Offer of the item held", 0, func() error { return n.m.Offer(v1) })
	// The offer makes a check run at once; let it finish before the LAN
	// has anything newer, or it finds version 2 itself.
	waitSub(t, n, sub.ID, 20*time.Second, "the check after the offer", func(s Subscription) bool {
		return s.Latest == 1 && s.CheckedAt.After(first.CheckedAt) && s.State != StateLooking
	})
	// A check that finds a newer item on the LAN.
	lan.set(v2)
	step("a check that finds version 2", 1, func() error {
		c := mustSub(t, n, sub.ID).CheckedAt
		if err := n.m.Check(sub.ID); err != nil {
			return err
		}
		waitSub(t, n, sub.ID, 20*time.Second, "version 2 found", func(s Subscription) bool { return s.Latest == 2 && s.CheckedAt.After(c) })
		return nil
	})
	step("Unsubscribe", 1, func() error { return n.m.Unsubscribe(sub.ID, false) })

	src := t.TempDir()
	writeFiles(t, src, map[string]int64{"a.jpg": 50_000})
	step("Create", 0, func() error { _, err := n.m.Create("mine", nil); return err })
	step("AddItems", 0, func() error { _, err := n.m.AddItems("mine", []string{filepath.Join(src, "a.jpg")}); return err })
	step("Publish", 1, func() error { _, err := n.m.Publish(ctx, "mine"); return err })
	step("DeleteChannel", 1, func() error { return n.m.DeleteChannel("mine", false) })
}
