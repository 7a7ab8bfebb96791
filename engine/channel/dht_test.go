package channel

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestDHTPeersOnly: on a private DHT made of two Hearth engines alone
// (no other DHT node, no LAN, no peer hints in the link) a subscriber
// finds the channel's item and the publisher's data through the DHT.
// Every engine's node keeps the peers announced to it and hands out the
// write token an announce needs (mutable.ConfigureServer); without that
// the two never meet.
func TestDHTPeersOnly(t *testing.T) {
	d := newTestDHT(t, 0)
	pub := startNode(t, "publisher", nodeOptions{dht: d})
	sub := startNode(t, "subscriber", nodeOptions{dht: d})
	ctx := context.Background()
	src := t.TempDir()
	writeFiles(t, src, map[string]int64{"IMG_0001.jpg": 300_000, "IMG_0002.jpg": 100_000})
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
	if _, _, err := sub.m.Subscribe(ctx, ch.Link, SubscribeOptions{}); err != nil {
		t.Fatal(err)
	}
	s := waitSub(t, sub, ch.Link, 60*time.Second, "version 1 through the DHT alone", synced(1))
	sameTree(t, ch.Dir, s.Dir)
}
