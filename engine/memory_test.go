package engine_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"testing"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
)

// TestWaitingTorrentMemory: a torrent that waits (paused here, or queued:
// a router seeds 5 at a time and keeps the rest of a library waiting)
// costs the engine its file list and a few hundred bytes, not its piece
// hashes. Those are most of an info dictionary (20 bytes a piece: 80 KB for
// 4,000 pieces, 16 GB in 4 MiB pieces); the engine reads them from the
// store when the torrent starts. Before, a waiting torrent held them (once:
// 83.8 KB each; twice before that, 165.7 KB), so a library of 500 such
// films held 40 MB, a router's whole budget. The store is on disk
// (memory-mapped, off the Go heap), so the heap growth is the engine's.
func TestWaitingTorrentMemory(t *testing.T) {
	const (
		count  = 100
		pieces = 4000
	)
	node := enginetest.StartNode(t, enginetest.NodeOptions{})
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	torrents := make([][]byte, count)
	for i := range torrents {
		hashes := make([]byte, 20*pieces)
		rand.Read(hashes)
		info := metainfo.Info{Name: fmt.Sprintf("film-%03d.mkv", i), PieceLength: 4 << 20, Length: pieces << 22, Pieces: hashes}
		torrents[i], _ = enginetest.MetaInfoBytes(t, info)
	}
	for i, mi := range torrents {
		if _, _, err := node.Engine.Add(context.Background(), engine.AddRequest{Metainfo: mi, Paused: true}); err != nil {
			t.Fatalf("add torrent %d: %v", i, err)
		}
	}
	torrents = nil
	per := (int64(heap()) - int64(before)) / count
	t.Logf("heap per waiting torrent of %d pieces: %d bytes (hashes: %d)", pieces, per, 20*pieces)
	if limit := int64(20*pieces) / 10; per > limit {
		t.Errorf("heap per waiting torrent = %d bytes, want at most %d (a tenth of its %d bytes of piece hashes: they stay in the store)", per, limit, 20*pieces)
	}
}
