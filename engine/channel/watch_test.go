package channel

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestOnStatus: a subscription's steps (fetching, downloading, synced)
// and its new-items count call Options.OnStatus, without a call per
// piece and without calls while nothing changes (every check passes
// through "looking").
func TestOnStatus(t *testing.T) {
	pub := startNode(t, "publisher", nodeOptions{})
	var (
		mu     sync.Mutex
		seen   []Subscription // the subscription at each call
		sub    *node
		target string
	)
	sub = startNode(t, "subscriber", nodeOptions{lan: nodeLAN{pub}, opts: func(o *Options) {
		o.OnStatus = func() {
			mu.Lock()
			defer mu.Unlock()
			if target == "" {
				return
			}
			// Called without the manager's locks: it may ask for the status.
			s, err := sub.m.Subscription(target)
			if err != nil {
				t.Errorf("OnStatus: Subscription = %v", err)
				return
			}
			seen = append(seen, s)
		}
	}})
	calls := func() []Subscription {
		mu.Lock()
		defer mu.Unlock()
		return append([]Subscription(nil), seen...)
	}
	ctx := context.Background()
	src := t.TempDir()
	// Many pieces (testPieceLength each): a call per piece would show.
	writeFiles(t, src, map[string]int64{"IMG_0001.jpg": 900_000, "IMG_0002.jpg": 700_000})
	if _, err := pub.m.Create("c", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.m.AddItems("c", []string{filepath.Join(src, "IMG_0001.jpg"), filepath.Join(src, "IMG_0002.jpg")}); err != nil {
		t.Fatal(err)
	}
	ch, err := pub.m.Publish(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	target = ch.Link
	mu.Unlock()
	if _, _, err := sub.m.Subscribe(ctx, ch.Link, SubscribeOptions{}); err != nil {
		t.Fatal(err)
	}
	s := waitSub(t, sub, ch.Link, 30*time.Second, "version 1", synced(1))
	if s.NewItems != 2 {
		t.Fatalf("synced subscription has %d new items, want 2", s.NewItems)
	}
	wait := func(what string, cond func(Subscription) bool) []Subscription {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			c := calls()
			if len(c) > 0 && cond(c[len(c)-1]) {
				return c
			}
			if time.Now().After(deadline) {
				var states []string
				for _, s := range c {
					states = append(states, s.State)
				}
				t.Fatalf("OnStatus calls saw states %v, want a last call with %s", states, what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The status as the hook reads it may say "looking" (a check is under
	// way): what is synced is the version and its bytes.
	isSynced := func(s Subscription) bool {
		return (s.State == StateSynced || s.State == StateLooking) && s.Version == 1 && s.Bytes > 0 && s.Done == s.Bytes
	}
	c := wait("synced, 2 new items", func(s Subscription) bool { return isSynced(s) && s.NewItems == 2 })
	// fetching, downloading, synced: a few steps, however many pieces.
	if pieces := (1_600_000 + testPieceLength - 1) / testPieceLength; len(c) > 4 || pieces < 8 {
		t.Errorf("OnStatus called %d times for one version of %d pieces, want at most 4", len(c), pieces)
	}

	// Nothing changes: checks keep running (every 500 ms here), no calls.
	time.Sleep(2 * time.Second)
	if n := len(calls()); n != len(c) {
		t.Errorf("OnStatus called %d times while the subscription stayed synced, want 0", n-len(c))
	}

	// The new-items count is a step too.
	if err := sub.m.MarkSeen(s.ID); err != nil {
		t.Fatal(err)
	}
	wait("no new items", func(s Subscription) bool { return isSynced(s) && s.NewItems == 0 })
}
