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

// TestWaitingTorrentMemory: a torrent that waits (paused here) costs the
// engine little more than its info dictionary, once. The piece hashes are
// most of it (20 bytes a piece: 80 KB for 4,000 pieces, 16 GB in 4 MiB
// pieces) and a router-profile daemon holds hundreds of torrents in
// 40 MiB: two copies of every torrent's hashes (the parsed info and the
// raw bytes, as before) cost it 16 MB for 100 such torrents instead of 8.
// The store is on disk (memory-mapped, off the Go heap), so the heap
// growth is the engine's.
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
	if limit := int64(20*pieces) * 3 / 2; per > limit {
		t.Errorf("heap per waiting torrent = %d bytes, want at most %d (its %d bytes of piece hashes once, and a little)", per, limit, 20*pieces)
	}
}
