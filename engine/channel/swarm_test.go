package channel

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine/mutable"
)

// TestPublishSubscribeSwarm is the channel's life on a private DHT on
// loopback: one publisher, three subscribers get version 1; version 2
// adds photos, moves one and removes one, and the subscribers download
// only the new photos; with the publisher gone, a fourth subscriber
// still gets version 2 from the others.
func TestPublishSubscribeSwarm(t *testing.T) {
	if testing.Short() {
		t.Skip("swarm of five engines")
	}
	dhtNodes := newTestDHT(t, 3)
	pub := startNode(t, "publisher", nodeOptions{dht: dhtNodes})
	var subs []*node
	for i, name := range []string{"sub1", "sub2", "sub3"} {
		keep := i != 2 // sub3 deletes what the publisher removes
		subs = append(subs, startNode(t, name, nodeOptions{dht: dhtNodes, opts: func(o *Options) { o.KeepRemoved = keep }}))
	}
	ctx := context.Background()

	// Version 1: a folder of photos and one loose video.
	src := t.TempDir()
	writeFiles(t, src, map[string]int64{
		"Holiday/IMG_0001.jpg": 410_000, "Holiday/IMG_0002.jpg": 385_123, "Holiday/IMG_0003.jpg": 512_000,
		"Holiday/day2/IMG_0004.jpg": 290_777, "Holiday/day2/IMG_0005.jpg": 333_333,
		"clip.mp4": 4_200_001,
	})
	if _, err := pub.m.Create("Family photos", nil); err != nil {
		t.Fatal(err)
	}
	added, err := pub.m.AddItems("Family photos", []string{filepath.Join(src, "Holiday"), filepath.Join(src, "clip.mp4")})
	if err != nil || len(added) != 2 {
		t.Fatalf("AddItems = %v, %v; want 2 items", added, err)
	}
	ch, err := pub.m.Publish(ctx, "Family photos")
	if err != nil {
		t.Fatal(err)
	}
	if ch.Version != 1 || ch.Items != 6 {
		t.Fatalf("Publish = version %d with %d items, want 1 with 6", ch.Version, ch.Items)
	}
	content := ch.Dir
	for _, s := range subs {
		if _, existed, err := s.m.Subscribe(ctx, ch.Link, SubscribeOptions{}); err != nil || existed {
			t.Fatalf("%s: Subscribe = existed %v, %v", s.name, existed, err)
		}
	}
	for _, s := range subs {
		got := waitSub(t, s, ch.Link, 60*time.Second, "version 1", synced(1))
		sameTree(t, content, got.Dir)
		if got.NewItems != 6 || got.Items != 6 {
			t.Errorf("%s: version 1 has %d items, %d new; want 6 and 6", s.name, got.Items, got.NewItems)
		}
		if err := s.m.MarkSeen(got.ID); err != nil {
			t.Fatal(err)
		}
	}

	// Version 2: three new photos, one photo moved to another folder, one
	// removed.
	more := t.TempDir()
	newFiles := map[string]int64{"IMG_0100.jpg": 301_000, "IMG_0101.jpg": 402_000, "IMG_0102.jpg": 256_000}
	writeFiles(t, more, newFiles)
	var newBytes int64
	var paths []string
	for p, n := range newFiles {
		newBytes += n
		paths = append(paths, filepath.Join(more, p))
	}
	if _, err := pub.m.AddItems("Family photos", paths); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(content, "Holiday", "best"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(content, "Holiday", "IMG_0002.jpg"), filepath.Join(content, "Holiday", "best", "IMG_0002.jpg")); err != nil {
		t.Fatal(err)
	}
	if err := pub.m.RemoveItem("Family photos", "Holiday/IMG_0003.jpg"); err != nil {
		t.Fatal(err)
	}
	hashedBefore := make([]int64, len(subs))
	for i, s := range subs {
		hashedBefore[i] = s.eng.Stats().BytesHashed
	}
	v1Item := pub.m.Held()[0]
	ch, err = pub.m.Publish(ctx, "Family photos")
	if err != nil {
		t.Fatal(err)
	}
	if ch.Version != 2 || ch.Items != 8 {
		t.Fatalf("Publish = version %d with %d items, want 2 with 8", ch.Version, ch.Items)
	}
	// What a subscriber may download: the new photos, each with up to a
	// piece of padding after it. It may hash only those pieces: unchanged
	// files are neither downloaded nor hashed again. The download counter
	// also counts blocks that several peers sent at once near the end
	// (anacrolix's end game): up to as much again is allowed for those,
	// still far below the 6 MB of version 1.
	maxNew := newBytes + int64(len(newFiles))*testPieceLength
	maxDown := 2 * maxNew
	for i, s := range subs {
		got := waitSub(t, s, ch.Link, 60*time.Second, "version 2", synced(2))
		if got.Downloaded < newBytes || got.Downloaded > maxDown {
			t.Errorf("%s: version 2 downloaded %d bytes, want the new photos' %d (at most %d with padding)", s.name, got.Downloaded, newBytes, maxDown)
		}
		if h := s.eng.Stats().BytesHashed - hashedBefore[i]; h > maxNew {
			t.Errorf("%s: version 2 hashed %d bytes, want at most %d: unchanged files must not be hashed again", s.name, h, maxNew)
		}
		if got.NewItems != 3 {
			t.Errorf("%s: %d new items, want 3 (%v)", s.name, got.NewItems, got.NewPaths)
		}
		removed := filepath.Join(got.Dir, "Holiday", "IMG_0003.jpg")
		_, err := os.Stat(removed)
		if keep := s.name != "sub3"; keep != (err == nil) {
			t.Errorf("%s: removed photo present = %v, want %v", s.name, err == nil, keep)
		}
		os.Remove(removed)
		sameTree(t, content, got.Dir)
		t.Logf("%s: version 2 downloaded %d bytes for %d new bytes", s.name, got.Downloaded, newBytes)
	}

	// Version 1's item again (a replay, or a publisher restored from an
	// old backup): the DHT keeps version 2, subscribers refuse it and
	// delete nothing.
	if _, err := mutable.Put(ctx, subs[0].eng.DHT(), v1Item); !errors.Is(err, mutable.ErrOutdated) {
		t.Errorf("put of version 1 after version 2 = %v, want %v", err, mutable.ErrOutdated)
	}
	for _, s := range subs {
		if err := s.m.Offer(v1Item); err == nil {
			t.Errorf("%s: Offer(version 1 item) accepted after version 2", s.name)
		}
		got := mustSub(t, s, ch.Link)
		if got.Version != 2 || got.Latest != 2 || !strings.Contains(got.LastReject, "older") {
			t.Errorf("%s: after a replay of version 1: version %d, latest %d, last reject %q; want 2, 2 and a replay", s.name, got.Version, got.Latest, got.LastReject)
		}
		os.Remove(filepath.Join(got.Dir, "Holiday", "IMG_0003.jpg"))
		sameTree(t, content, got.Dir)
	}

	// The subscribers keep the channel alive: they re-put its item and
	// seed version 2 after the publisher is gone.
	for _, s := range subs {
		waitSub(t, s, ch.Link, 30*time.Second, "a re-put of the item", func(s Subscription) bool { return !s.PutAt.IsZero() })
	}
	pub.stop()
	late := startNode(t, "sub4", nodeOptions{dht: dhtNodes})
	if _, _, err := late.m.Subscribe(ctx, ch.Link, SubscribeOptions{}); err != nil {
		t.Fatal(err)
	}
	got := waitSub(t, late, ch.Link, 60*time.Second, "version 2 without the publisher", synced(2))
	sameTree(t, mustSub(t, subs[2], ch.Link).Dir, got.Dir)
}

func mustSub(t testing.TB, n *node, ref string) Subscription {
	t.Helper()
	s, err := n.m.Subscription(ref)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
