package engine_test

import (
	"context"
	"testing"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
)

// TestSequential: with the last files at high priority, in sequential mode
// the first pieces still come first.
// Each file is one piece, so file completion shows piece order.
func TestSequential(t *testing.T) {
	const nfiles, tail = 120, 20
	var files []enginetest.File
	for i := range nfiles {
		files = append(files, enginetest.File{Path: string(rune('a'+i/26)) + string(rune('a'+i%26)), Size: 16 << 10})
	}
	tt := enginetest.MakeTorrent(t, t.TempDir(), "seq", 16<<10, files)
	seeder, _ := seed(t, tt)
	for _, seq := range []bool{false, true} {
		leecher := enginetest.StartNode(t, enginetest.NodeOptions{})
		e := leecher.Engine
		got, _, err := e.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Paused: true})
		if err != nil {
			t.Fatal(err)
		}
		high := engine.PriorityHigh
		var patches []engine.FilePatch
		for i := nfiles - tail; i < nfiles; i++ {
			patches = append(patches, engine.FilePatch{Index: i, Priority: &high})
		}
		if err := e.SetFiles(got.ID, patches); err != nil {
			t.Fatal(err)
		}
		if err := e.SetOptions(got.ID, engine.OptionsPatch{DownloadKBps: ptr(200), Sequential: ptr(seq)}); err != nil {
			t.Fatal(err)
		}
		if err := e.Resume(got.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.AddPeers(got.ID, []string{seeder.PeerAddr()}); err != nil {
			t.Fatal(err)
		}
		snap := enginetest.WaitFor(t, e, ref(got.ID), timeout, "a third of the pieces", func(tr engine.Torrent) bool {
			return tr.PiecesDone >= nfiles/3
		})
		head, tailDone := 0, 0
		for _, f := range snap.Files {
			if f.Done == f.Size {
				switch {
				case f.Index < tail:
					head++
				case f.Index >= nfiles-tail:
					tailDone++
				}
			}
		}
		t.Logf("sequential %v: %d pieces done, first %d files: %d done, high-priority last %d: %d done", seq, snap.PiecesDone, tail, head, tail, tailDone)
		// Normal mode gave 3 to 11 of the first 20 here; the window may
		// leave a piece or two to a slower request.
		if seq && head < tail-3 {
			t.Errorf("sequential: %d of the first %d files done with %d pieces done, want at least %d", head, tail, snap.PiecesDone, tail-3)
		}
		if opt, _ := e.Get(ref(got.ID)); opt.Options.Sequential != seq {
			t.Errorf("Options.Sequential = %v, want %v", opt.Options.Sequential, seq)
		}
		leecher.Close()
	}
}
