package channel

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"
)

// TestWebSeedsOption: the torrents of a version, on the publisher and on
// a subscriber, carry the web seeds Options.WebSeeds gives for the
// channel's key and the version's seq; the info dictionary (the
// infohash) is the version's. The URLs point nowhere: only loopback
// peers transfer anything here.
func TestWebSeedsOption(t *testing.T) {
	dhtNodes := newTestDHT(t, 2)
	type call struct {
		key string
		seq int64
	}
	calls := make(chan call, 10)
	seeds := func(key string, seq int64) []string {
		calls <- call{key, seq}
		return []string{"http://127.0.0.1:9/s/tok/seed/", "http://127.0.0.1:9/v" + strconv.FormatInt(seq, 10) + "/", "ftp://bad/"}
	}
	pub := startNode(t, "publisher", nodeOptions{dht: dhtNodes, opts: func(o *Options) { o.WebSeeds = seeds }})
	sub := startNode(t, "subscriber", nodeOptions{dht: dhtNodes, opts: func(o *Options) { o.WebSeeds = seeds }})
	src := t.TempDir()
	writeFiles(t, src, map[string]int64{"a.jpg": 50_000, "b.jpg": 70_000})
	if _, err := pub.m.Create("Photos", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.m.AddItems("Photos", []string{filepath.Join(src, "a.jpg"), filepath.Join(src, "b.jpg")}); err != nil {
		t.Fatal(err)
	}
	ch, err := pub.m.Publish(context.Background(), "Photos")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"http://127.0.0.1:9/s/tok/seed/", "http://127.0.0.1:9/v1/"} // ftp dropped by the engine
	check := func(who string, eng interface {
		MetaInfo(int64, []string) ([]byte, error)
	}, id int64) {
		t.Helper()
		b, err := eng.MetaInfo(id, nil)
		if err != nil {
			t.Fatalf("%s: MetaInfo: %v", who, err)
		}
		mi, err := metainfo.Load(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(mi.UrlList, want) || mi.HashInfoBytes().HexString() != ch.InfoHash {
			t.Errorf("%s: url-list %q, infohash %s; want %q, %s", who, mi.UrlList, mi.HashInfoBytes().HexString(), want, ch.InfoHash)
		}
	}
	check("publisher", pub.eng, ch.TorrentID)
	if c := <-calls; c.key != ch.PublicKey || c.seq != 1 {
		t.Errorf("WebSeeds(%s, %d), want (%s, 1)", c.key, c.seq, ch.PublicKey)
	}
	if _, _, err := sub.m.Subscribe(context.Background(), ch.Link, SubscribeOptions{}); err != nil {
		t.Fatal(err)
	}
	got := waitSub(t, sub, ch.Link, 60*time.Second, "version 1", synced(1))
	check("subscriber", sub.eng, got.TorrentID)
}
