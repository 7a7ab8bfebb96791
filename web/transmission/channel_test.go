package transmission

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/channel"
	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/engine/mutable"
	"github.com/hearth-media/hearth/engine/store"
)

// heldLAN hands a real publisher's items and peer address to a
// subscriber, as the LAN source does between devices (that path has its
// own tests in web/lan).
type heldLAN struct {
	m    *channel.Manager
	peer string
}

func (l heldLAN) Lookup(_ context.Context, target [20]byte) ([]mutable.Item, []string, error) {
	var out []mutable.Item
	for _, it := range l.m.Held() {
		if it.Target() == target {
			out = append(out, it)
		}
	}
	if len(out) == 0 {
		return nil, nil, fmt.Errorf("%w: no neighbour holds the channel", mutable.ErrNotFound)
	}
	return out, []string{l.peer}, nil
}

// startManager runs a channel manager over e until the test ends.
func startManager(t *testing.T, e *engine.Engine, lan channel.LAN) *channel.Manager {
	t.Helper()
	st, err := store.Open(store.Options{Backend: store.BackendMemory})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m, err := channel.New(channel.Options{
		Engine: e, Store: st, LAN: lan, Logger: enginetest.Logger(t),
		Dir:          filepath.Join(t.TempDir(), "channels"),
		DownloadDir:  func() string { return e.Settings().DownloadDir },
		PublishDelay: -1,
		PieceLength:  32 << 10,
		FetchTimeout: 20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return m
}

// TestAddChannelLink: torrent-add with a channel link subscribes, and
// answers with the channel's torrent as Transmission answers a magnet;
// a channel nobody publishes is an error result that says the
// subscription is made and still resolving.
func TestAddChannelLink(t *testing.T) {
	pub := enginetest.StartNode(t, enginetest.NodeOptions{})
	pm := startManager(t, pub.Engine, nil)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "IMG_0001.jpg"), []byte(strings.Repeat("photo", 40_000)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := pm.Create("Family photos", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pm.AddItems("Family photos", []string{filepath.Join(src, "IMG_0001.jpg")}); err != nil {
		t.Fatal(err)
	}
	ch, err := pm.Publish(context.Background(), "Family photos")
	if err != nil {
		t.Fatal(err)
	}

	var sm *channel.Manager
	s := startRPC(t, func(o *Options) {
		sm = startManager(t, o.Engine.(*engine.Engine), heldLAN{pm, pub.PeerAddr()})
		o.Channels = sm
		o.ChannelWait = 30 * time.Second
	})
	before := snapshot(t, s.eng)
	for _, bad := range []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"filename": ch.Link, "paused": true}, "cannot be added paused"},
		{map[string]any{"filename": ch.Link, "labels": []string{"tv"}}, "labels do not apply"},
		{map[string]any{"filename": ch.Link, "files-unwanted": []int{0}}, "do not apply to a channel link"},
		{map[string]any{"filename": ch.Link, "download-dir": "relative"}, "absolute"},
		{map[string]any{"filename": "magnet:?xs=urn:btpk:abcd"}, "public key"},
	} {
		if msg := s.fails("torrent-add", bad.args); !strings.Contains(msg, bad.want) {
			t.Errorf("torrent-add %v = %q, want an error with %q", bad.args, msg, bad.want)
		}
	}
	if after := snapshot(t, s.eng); !reflect.DeepEqual(after, before) || len(sm.Subscriptions()) != 0 {
		t.Fatalf("refused channel adds changed something: %d subscriptions", len(sm.Subscriptions()))
	}

	dir := filepath.Join(t.TempDir(), "photos")
	added := s.ok("torrent-add", map[string]any{"filename": ch.Link, "download-dir": dir, "paused": false})
	b, ok := added["torrent-added"].(map[string]any)
	if !ok || b["hashString"] != ch.InfoHash || num(b["id"]) <= 0 || b["name"] != "Family photos" {
		t.Fatalf("torrent-add of a channel link = %v, want torrent-added with the channel's torrent %s", added, ch.InfoHash)
	}
	subs := sm.Subscriptions()
	if len(subs) != 1 || subs[0].Dir != dir || subs[0].TorrentID != num(b["id"]) {
		t.Fatalf("subscriptions = %+v, want one in %s with torrent %v", subs, dir, b["id"])
	}
	if ts := s.torrents([]any{num(b["id"])}, "hashString", "downloadDir"); len(ts) != 1 || ts[0]["hashString"] != ch.InfoHash {
		t.Errorf("torrent-get of the channel's torrent = %v", ts)
	}
	dup := s.ok("torrent-add", map[string]any{"filename": ch.Link})
	if d, ok := dup["torrent-duplicate"].(map[string]any); !ok || num(d["id"]) != num(b["id"]) {
		t.Errorf("second torrent-add of the link = %v, want torrent-duplicate of torrent %v", dup, b["id"])
	}

	nobody := channel.Link{PublicKey: [32]byte{7}, Name: "Nobody's"}.String()
	msg := s.fails("torrent-add", map[string]any{"filename": nobody})
	if !strings.Contains(msg, `subscribed to channel "Nobody's"`) || !strings.Contains(msg, "no version found yet") {
		t.Errorf("torrent-add of an unpublished channel = %q, want the subscription made and still resolving", msg)
	}
	if _, err := sm.Subscription(nobody); err != nil {
		t.Errorf("no subscription after the add of an unpublished channel: %v", err)
	}
}

// TestAddChannelLinkOff: without channels, a channel link is refused and
// says why.
func TestAddChannelLinkOff(t *testing.T) {
	s := startRPC(t)
	l := channel.Link{PublicKey: [32]byte{1}}.String()
	if msg := s.fails("torrent-add", map[string]any{"filename": l}); !strings.Contains(msg, "channels are not available") {
		t.Errorf("torrent-add of a channel link without channels = %q", msg)
	}
}
