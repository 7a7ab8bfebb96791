package library

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/store"
)

// synthSource stands in for the engine with many torrents of many
// incomplete files (nothing to probe): it measures the index itself, not
// file reads.
type synthSource struct {
	torrents []engine.Torrent
}

func newSynth(torrents, files int) *synthSource {
	s := &synthSource{}
	exts := []string{"mkv", "jpg", "mp3", "pdf", "bin", "flac", "png", "mp4"}
	added := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range torrents {
		t := engine.Torrent{ID: int64(i + 1), InfoHash: fmt.Sprintf("%040x", i+1), Name: fmt.Sprintf("torrent %d", i), HasMetadata: true, AddedAt: added.Add(time.Duration(i) * time.Minute)}
		for j := range files {
			t.Files = append(t.Files, engine.File{Index: j, Path: fmt.Sprintf("folder %d/file %d.%s", j/100, j, exts[j%len(exts)]), Size: 1 << 20})
			t.Size += 1 << 20
		}
		s.torrents = append(s.torrents, t)
	}
	return s
}

func (s *synthSource) List() []engine.Torrent {
	out := make([]engine.Torrent, len(s.torrents))
	for i, t := range s.torrents {
		t.Files = nil
		out[i] = t
	}
	return out
}

func (s *synthSource) Get(ref string) (engine.Torrent, error) {
	id, _ := strconv.ParseInt(ref, 10, 64)
	if id < 1 || int(id) > len(s.torrents) {
		return engine.Torrent{}, engine.ErrNotFound
	}
	return s.torrents[id-1], nil
}

func (s *synthSource) OpenFile(context.Context, int64, int) (engine.FileReader, error) {
	return nil, engine.ErrNotRunning
}

// BenchmarkLibrary100k indexes 100 torrents of 1,000 files each into a
// real store (the default backend for this CPU), then queries it.
// Reported: index time, heap after indexing (the source's own 100k-file
// list included), time of a name search and of a kind page.
func BenchmarkLibrary100k(b *testing.B) {
	for range b.N {
		st, err := store.Open(store.Options{Dir: b.TempDir()})
		if err != nil {
			b.Fatal(err)
		}
		src := newSynth(100, 1000)
		lib, err := New(Options{Store: st, Source: src})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var m0 runtime.MemStats
		runtime.ReadMemStats(&m0)
		start := time.Now()
		s, err := lib.Sync(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		idx := time.Since(start)
		if s.Files != 100000 {
			b.Fatalf("indexed %d files, want 100000", s.Files)
		}
		var m1 runtime.MemStats
		runtime.ReadMemStats(&m1)
		start = time.Now()
		if st2, _ := lib.Sync(context.Background()); st2.Torrents != 0 {
			b.Fatalf("idle sync looked at %d torrents", st2.Torrents)
		}
		idle := time.Since(start)
		start = time.Now()
		p, err := lib.Find(Query{Text: "FILE 999.", Limit: 10})
		if err != nil || len(p.Items) != 10 {
			b.Fatalf("search: %d items, %v", len(p.Items), err)
		}
		search := time.Since(start)
		start = time.Now()
		p, err = lib.Find(Query{Kind: KindPhoto, Sort: "taken", Limit: 100})
		if err != nil || len(p.Items) != 100 {
			b.Fatalf("photos: %d items, %v", len(p.Items), err)
		}
		page := time.Since(start)
		b.ReportMetric(float64(idx.Milliseconds()), "index-ms")
		b.ReportMetric(float64(idle.Milliseconds()), "idle-sync-ms")
		b.ReportMetric(float64(search.Milliseconds()), "search-ms")
		b.ReportMetric(float64(page.Microseconds())/1000, "photo-page-ms")
		b.ReportMetric(float64(m1.HeapInuse)/(1<<20), "heap-MiB")
		b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/(1<<20), "alloc-MiB")
		b.Logf("backend %s", st.Backend())
		st.Close()
	}
}
