package channel

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
)

// benchUpdateMiB is the size of one update; HEARTH_BENCH_UPDATE_MIB
// changes it.
func benchUpdateMiB() int64 {
	if n, err := strconv.Atoi(os.Getenv("HEARTH_BENCH_UPDATE_MIB")); err == nil && n > 0 {
		return int64(n)
	}
	return 100
}

// BenchmarkUpdate measures one channel update (new photos and videos
// totalling 100 MiB) reaching 1, 4 and 8 subscribers on loopback: the
// time from publish until every subscriber has the new version complete,
// the publisher's upload as a multiple of the update's size (the goal is
// under 1.5: subscribers feed each other), and the time until every
// subscriber saw the new version in the DHT.
func BenchmarkUpdate(b *testing.B) {
	for _, n := range []int{1, 4, 8} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) { benchUpdate(b, n) })
	}
}

func benchUpdate(b *testing.B, nsubs int) {
	ctx := context.Background()
	d := newTestDHT(b, 3)
	// Default piece length, as a real channel.
	opts := func(o *Options) { o.PieceLength = DefaultPieceLength }
	// The publisher's uplink is what limits a home: 4000 KB/s (32 Mbit/s)
	// by default, HEARTH_BENCH_UPLINK_KBPS to change (0 = unlimited;
	// then on loopback the publisher serves every subscriber before they
	// can trade pieces).
	uplink := 4000
	if v, err := strconv.Atoi(os.Getenv("HEARTH_BENCH_UPLINK_KBPS")); err == nil {
		uplink = v
	}
	pub := startNode(b, "publisher", nodeOptions{dht: d, opts: opts, config: func(c *config.Config) { c.Limits.UploadKBps = uplink }})
	var subs []*node
	for i := range nsubs {
		subs = append(subs, startNode(b, fmt.Sprintf("sub%d", i+1), nodeOptions{dht: d, opts: opts}))
	}
	src := b.TempDir()
	writeFiles(b, src, map[string]int64{"first/IMG_0001.jpg": 3 << 20})
	if _, err := pub.m.Create("bench", nil); err != nil {
		b.Fatal(err)
	}
	if _, err := pub.m.AddItems("bench", []string{filepath.Join(src, "first")}); err != nil {
		b.Fatal(err)
	}
	ch, err := pub.m.Publish(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range subs {
		if _, _, err := s.m.Subscribe(ctx, ch.Link, SubscribeOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	for _, s := range subs {
		waitSub(b, s, ch.Link, 2*time.Minute, "version 1", synced(1))
	}
	size := benchUpdateMiB() << 20
	var totalDur, totalSeen time.Duration
	var totalUp int64
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		// An update: 80 % photos of 4 MiB, the rest one video.
		dir := filepath.Join(src, fmt.Sprintf("update%d", i))
		files := map[string]int64{}
		photos := size * 8 / 10 / (4 << 20)
		for p := range photos {
			files[fmt.Sprintf("IMG_%04d.jpg", p)] = 4 << 20
		}
		files["video.mp4"] = size - photos*(4<<20)
		writeFiles(b, dir, files)
		if _, err := pub.m.AddItems("bench", []string{dir}); err != nil {
			b.Fatal(err)
		}
		upBefore := pub.eng.Stats().Uploaded
		ch, err = pub.m.Publish(ctx, "bench")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		want := ch.Version
		seen := 0
		var seenAt time.Duration
		done := map[*node]bool{}
		for len(done) < len(subs) {
			for _, s := range subs {
				st, err := s.m.Subscription(ch.Link)
				if err != nil {
					b.Fatal(err)
				}
				if st.Latest >= want && seenAt == 0 {
					seen++
					if seen == len(subs) {
						seenAt = time.Since(start)
					}
				}
				if st.Version == want && st.State == StateSynced {
					done[s] = true
				}
			}
			if time.Since(start) > 10*time.Minute {
				b.Fatalf("update %d not complete on every subscriber after 10 minutes", i)
			}
			time.Sleep(20 * time.Millisecond)
		}
		dur := time.Since(start)
		b.StopTimer()
		totalDur += dur
		totalSeen += seenAt
		totalUp += pub.eng.Stats().Uploaded - upBefore
	}
	b.ReportMetric(totalDur.Seconds()/float64(b.N), "s/update")
	b.ReportMetric(float64(totalUp)/float64(size)/float64(b.N), "pub-upload/size")
	b.ReportMetric(float64(size)*float64(b.N)/totalDur.Seconds()/(1<<20), "MiB/s")
	b.ReportMetric(totalSeen.Seconds()/float64(b.N), "s-to-see")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkSeedMemory compares what seeding costs as one torrent with
// many files (a channel version) and as one torrent per file (one per
// photo), on the router profile with the DHT on: heap, goroutines and
// DHT queries per item once every torrent is seeding.
// HEARTH_BENCH_ITEMS sets the item count.
func BenchmarkSeedMemory(b *testing.B) {
	items := 200
	if n, err := strconv.Atoi(os.Getenv("HEARTH_BENCH_ITEMS")); err == nil && n > 0 {
		items = n
	}
	for _, layout := range []string{"one-torrent", "torrent-per-item"} {
		b.Run(layout+"/items="+strconv.Itoa(items), func(b *testing.B) {
			for range b.N {
				heap, gor, q := seedMemory(b, items, layout == "torrent-per-item")
				b.ReportMetric(float64(heap)/float64(items), "heap-B/item")
				b.ReportMetric(float64(gor)/float64(items), "goroutines/item")
				b.ReportMetric(float64(q)/float64(items), "dht-queries/item")
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}

// seedMemory starts a router-profile engine on a private DHT, adds
// items small files seeding (one torrent, or one per file) and returns
// the heap and goroutines they added, and the DHT queries the engine
// sent from the first add until 10 s after all seed (announces).
func seedMemory(b *testing.B, items int, perItem bool) (heap int64, goroutines int, queries int64) {
	b.Helper()
	d := newTestDHT(b, 3)
	base := measureHeap()
	baseG := runtime.NumGoroutine()
	n := startNode(b, "seeder", nodeOptions{dht: d, config: func(c *config.Config) {
		rc, _ := config.Default("router")
		c.Torrent.ConnsPerTorrent, c.Torrent.HalfOpenPerTorrent, c.Torrent.HalfOpenTotal = rc.Torrent.ConnsPerTorrent, rc.Torrent.HalfOpenPerTorrent, rc.Torrent.HalfOpenTotal
		c.Torrent.PeersHighWater, c.Torrent.PeersLowWater = rc.Torrent.PeersHighWater, rc.Torrent.PeersLowWater
		c.Torrent.RequestBufferKiB, c.Torrent.UnverifiedMiB, c.Torrent.Hashers = rc.Torrent.RequestBufferKiB, rc.Torrent.UnverifiedMiB, rc.Torrent.Hashers
		c.Queue.MaxSeeds = 0 // the router's 5 would leave all but 5 per-item torrents stopped
	}})
	afterEngine := measureHeap()
	afterG := runtime.NumGoroutine()
	dir := n.eng.Settings().DownloadDir
	var metas [][]byte
	if perItem {
		for i := range items {
			tt := enginetest.MakeTorrent(b, dir, fmt.Sprintf("IMG_%05d.jpg.d", i), DefaultPieceLength, []enginetest.File{{Path: "IMG.jpg", Size: 64 << 10}})
			metas = append(metas, tt.Metainfo)
		}
	} else {
		var files []enginetest.File
		for i := range items {
			files = append(files, enginetest.File{Path: fmt.Sprintf("IMG_%05d.jpg", i), Size: 64 << 10})
		}
		metas = append(metas, enginetest.MakeTorrent(b, dir, "album", DefaultPieceLength, files).Metainfo)
	}
	q0 := n.eng.DHT().Stats().OutboundQueriesAttempted
	var ids []int64
	for _, mi := range metas {
		t, _, err := n.eng.Add(context.Background(), engine.AddRequest{Metainfo: mi})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, t.ID)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for _, id := range ids {
		for {
			t, err := n.eng.Get(strconv.FormatInt(id, 10))
			if err == nil && t.State == engine.StateSeeding {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("torrent %d not seeding: %s", id, t.State)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	time.Sleep(10 * time.Second)
	queries = n.eng.DHT().Stats().OutboundQueriesAttempted - q0
	heap = measureHeap() - afterEngine
	goroutines = runtime.NumGoroutine() - afterG
	b.Logf("engine alone %d KiB heap, %d goroutines; %d items seeding (%v): +%d KiB heap, +%d goroutines, %d DHT queries",
		(afterEngine-base)>>10, afterG-baseG, items, map[bool]string{true: "one torrent each", false: "one torrent"}[perItem], heap>>10, goroutines, queries)
	n.stop()
	return heap, goroutines, queries
}

func measureHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}
