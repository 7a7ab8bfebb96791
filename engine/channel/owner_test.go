package channel

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAutoPublish: changes publish themselves PublishDelay after the
// last one, as one version.
func TestAutoPublish(t *testing.T) {
	n := startNode(t, "publisher", nodeOptions{opts: func(o *Options) { o.PublishDelay = 300 * time.Millisecond }})
	src := t.TempDir()
	writeFiles(t, src, map[string]int64{"a.jpg": 50_000, "b.jpg": 60_000})
	if _, err := n.m.Create("c", nil); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"a.jpg", "b.jpg"} {
		if _, err := n.m.AddItems("c", []string{filepath.Join(src, f)}); err != nil {
			t.Fatal(err)
		}
	}
	ch, _ := n.m.Channel("c")
	if !ch.Changed || ch.NextPublish.IsZero() || ch.Version != 0 {
		t.Fatalf("after adding: changed %v, next publish %v, version %d; want a publish planned", ch.Changed, ch.NextPublish, ch.Version)
	}
	deadline := time.Now().Add(10 * time.Second)
	for ch.Version == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		ch, _ = n.m.Channel("c")
	}
	if ch.Version != 1 || ch.Items != 2 || ch.Changed {
		t.Fatalf("auto publish: version %d with %d items, changed %v; want version 1 with both files", ch.Version, ch.Items, ch.Changed)
	}
	// Publishing unchanged content makes no new version.
	if ch, err := n.m.Publish(context.Background(), "c"); err != nil || ch.Version != 1 {
		t.Errorf("Publish of unchanged content = version %d, %v; want 1", ch.Version, err)
	}
}

// TestKeyBackup: a backup holds the secret, the status never does, and
// an imported key publishes above the backup's version.
func TestKeyBackup(t *testing.T) {
	a := startNode(t, "a", nodeOptions{})
	src := t.TempDir()
	writeFiles(t, src, map[string]int64{"a.jpg": 50_000})
	ch, err := a.m.Create("Family photos", []byte("salt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.m.AddItems(ch.Name, []string{filepath.Join(src, "a.jpg")}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.m.Publish(context.Background(), ch.Name); err != nil {
		t.Fatal(err)
	}
	b, err := a.m.ExportKey(ch.Name)
	if err != nil {
		t.Fatal(err)
	}
	var kb KeyBackup
	if err := json.Unmarshal(b, &kb); err != nil || len(kb.SecretKey) != 64 || kb.Seq != 1 || kb.Salt != "73616c74" {
		t.Fatalf("backup = %s (%v)", b, err)
	}
	status, _ := json.Marshal(a.m.Channels())
	if strings.Contains(string(status), kb.SecretKey) {
		t.Error("channel status holds the secret key")
	}

	other := startNode(t, "b", nodeOptions{})
	if _, err := other.m.ImportKey(b, "Copy"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.m.ImportKey(b, "Again"); err == nil {
		t.Error("importing a key twice succeeded")
	}
	for _, bad := range []string{`{}`, `{"format":"hearth-channel-key-1","secretKey":"00"}`, strings.Replace(string(b), kb.PublicKey, strings.Repeat("0", 64), 1), `not json`} {
		if _, err := other.m.ImportKey([]byte(bad), "x"); err == nil {
			t.Errorf("ImportKey(%.40q) succeeded", bad)
		}
	}
	writeFiles(t, src, map[string]int64{"z.jpg": 40_000})
	if _, err := other.m.AddItems("Copy", []string{filepath.Join(src, "z.jpg")}); err != nil {
		t.Fatal(err)
	}
	got, err := other.m.Publish(context.Background(), "Copy")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.PublicKey != ch.PublicKey || got.Link == ch.Link {
		t.Errorf("imported channel published version %d with key %s; want 2 with %s (and its own name in the link)", got.Version, got.PublicKey, ch.PublicKey)
	}
}

// TestRestart: publisher and subscriber restart; the subscriber keeps
// its version without hashing or downloading it again, and the next
// version still arrives.
func TestRestart(t *testing.T) {
	d := newTestDHT(t, 3)
	pub := startNode(t, "publisher", nodeOptions{dht: d})
	sub := startNode(t, "subscriber", nodeOptions{dht: d})
	ctx := context.Background()
	src := t.TempDir()
	writeFiles(t, src, map[string]int64{"a.jpg": 200_000, "b.jpg": 300_000})
	if _, err := pub.m.Create("c", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.m.AddItems("c", []string{filepath.Join(src, "a.jpg"), filepath.Join(src, "b.jpg")}); err != nil {
		t.Fatal(err)
	}
	ch, err := pub.m.Publish(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sub.m.Subscribe(ctx, ch.Link, SubscribeOptions{}); err != nil {
		t.Fatal(err)
	}
	waitSub(t, sub, ch.Link, 30*time.Second, "version 1", synced(1))

	pub.stop()
	sub.stop()
	pub = startNode(t, "publisher", nodeOptions{dir: pub.dir, dht: d})
	sub = startNode(t, "subscriber", nodeOptions{dir: sub.dir, dht: d})
	s := waitSub(t, sub, ch.Link, 30*time.Second, "version 1 after a restart", synced(1))
	if h := sub.eng.Stats().BytesHashed; h != 0 {
		t.Errorf("after a restart the subscriber hashed %d bytes, want 0", h)
	}
	if got, _ := pub.m.Channel("c"); got.Version != 1 || got.TorrentID == 0 {
		t.Errorf("publisher after a restart: version %d, torrent %d", got.Version, got.TorrentID)
	}
	writeFiles(t, src, map[string]int64{"c.jpg": 100_000})
	if _, err := pub.m.AddItems("c", []string{filepath.Join(src, "c.jpg")}); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.m.Publish(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	s = waitSub(t, sub, ch.Link, 30*time.Second, "version 2 after a restart", synced(2))
	sameTree(t, ch.Dir, s.Dir)

	// Someone removes the channels' torrents from the engines (hearth rm):
	// they come back, without counting old files as new.
	if err := sub.eng.Remove(s.TorrentID, false); err != nil {
		t.Fatal(err)
	}
	if err := sub.m.Check(s.ID); err != nil {
		t.Fatal(err)
	}
	back := waitSub(t, sub, ch.Link, 30*time.Second, "the torrent back", func(x Subscription) bool {
		return x.TorrentID != 0 && x.TorrentID != s.TorrentID && x.State == StateSynced
	})
	if back.NewItems != s.NewItems || back.Downloaded != 0 {
		t.Errorf("re-added version: %d new items (was %d), %d bytes downloaded; want no change and nothing downloaded", back.NewItems, s.NewItems, back.Downloaded)
	}
	pc, _ := pub.m.Channel("c")
	if err := pub.eng.Remove(pc.TorrentID, false); err != nil {
		t.Fatal(err)
	}
	if got, err := pub.m.Publish(ctx, "c"); err != nil || got.TorrentID == 0 || got.TorrentID == pc.TorrentID || got.Version != 2 {
		t.Errorf("Publish after the torrent was removed = torrent %d (was %d), version %d, %v; want it seeded again as version 2", got.TorrentID, pc.TorrentID, got.Version, err)
	}
}
