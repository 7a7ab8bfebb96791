package enginetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/hearth-media/hearth/engine"
)

// AddMany adds n single-file torrents of 24-25 KiB (16 KiB pieces) whose
// data is nowhere, named item-0000.bin…, so that a
// list of them costs what a real box's list costs. The engine's queue
// limits decide how many run; the rest wait. For list benchmarks and
// tests of many torrents.
func AddMany(t testing.TB, e *engine.Engine, n int) []engine.Torrent {
	t.Helper()
	out := make([]engine.Torrent, 0, n)
	for i := range n {
		size := int64(24<<10 + i)
		const pieceLen = 16 << 10
		pieces := make([]byte, 20*((size+pieceLen-1)/pieceLen))
		rand.Read(pieces)
		info := metainfo.Info{Name: fmt.Sprintf("item-%04d.bin", i), Length: size, PieceLength: pieceLen, Pieces: pieces}
		mi, _ := MetaInfoBytes(t, info)
		tr, _, err := e.Add(context.Background(), engine.AddRequest{Metainfo: mi})
		if err != nil {
			t.Fatalf("add torrent %d: %v", i, err)
		}
		out = append(out, tr)
	}
	return out
}
