package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
)

// TestSequential: in sequential mode the first pieces to arrive are the
// window of the first missing wanted pieces, from the start or after the
// pieces the leecher already holds and the files it skips, even with the
// last files at high priority; without it, the high-priority files come
// first.
//
// Each file is one piece of one 16 KiB block, so file completion shows
// piece order. What the test can observe is a set, not an order: the
// library asks a peer for 1, 2, 4, 8, 16… blocks, a batch only once the
// last one has arrived, and the seeder serves a batch in random (map)
// order. In sequential mode the first 31 blocks asked for all fall in the
// window (32 pieces here), so the first 16 or more pieces to complete are
// in it, in some order; without the window they are the high-priority
// tail. The check allows 2 of them outside the window. A random order
// passes it with a probability of 6e-8 (first case) or 1.4e-4 (second);
// normal mode's tail-first order, a window at high priority, one that
// starts at piece 0 or ignores skipped files all fail every run.
func TestSequential(t *testing.T) {
	const (
		nfiles    = 120
		tailStart = 100 // files [100, 120) have high priority
		block     = 16 << 10
		window    = 32 // seqMaxPieces; ReadAheadKiB below is larger than 32 pieces
		firstK    = 16 // look at the first pieces to complete: at least this many
	)
	var files []enginetest.File
	for i := range nfiles {
		files = append(files, enginetest.File{Path: fmt.Sprintf("f%03d", i), Size: block})
	}
	tt := enginetest.MakeTorrent(t, t.TempDir(), "seq", block, files)
	seeder, _ := seed(t, tt)

	tests := []struct {
		name string
		seq  bool
		// have is how many of the first files the leecher holds before it
		// meets the seeder; skip more files after them are not wanted.
		have, skip int
		// The first pieces to complete must be in [lo, hi), all but
		// misplaced of them.
		lo, hi, misplaced int
	}{
		// A control: without the window (as when sequential mode does
		// nothing) the high-priority tail comes first. Normal-priority
		// pieces come in a loose order, so only half is asked for.
		{name: "off: high priority first", seq: false, lo: tailStart, hi: nfiles, misplaced: firstK / 2},
		{name: "on: from the first piece", seq: true, lo: 0, hi: window, misplaced: 2},
		{name: "on: from the first missing wanted piece", seq: true, have: 20, skip: 30, lo: 50, hi: 50 + window, misplaced: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			leecher := enginetest.StartNode(t, enginetest.NodeOptions{Config: func(c *config.Config) {
				c.Torrent.ReadAheadKiB = 4 * window * block >> 10 // the window is capped at 32 pieces
			}})
			e := leecher.Engine
			dir := t.TempDir()
			for i := range tc.have {
				copyFile(t, filepath.Join(tt.Dir, tt.Name, files[i].Path), filepath.Join(dir, tt.Name, files[i].Path))
			}
			got, _, err := e.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Dir: dir, Paused: true})
			if err != nil {
				t.Fatal(err)
			}
			high, no := engine.PriorityHigh, false
			var patches []engine.FilePatch
			for i := tc.have; i < tc.have+tc.skip; i++ {
				patches = append(patches, engine.FilePatch{Index: i, Wanted: &no})
			}
			for i := tailStart; i < nfiles; i++ {
				patches = append(patches, engine.FilePatch{Index: i, Priority: &high})
			}
			if err := e.SetFiles(got.ID, patches); err != nil {
				t.Fatal(err)
			}
			// 200 KB/s: after the first 15 blocks (within the limiter's
			// burst) about 12 pieces a second, so the poll below sees
			// the first batches complete before the later ones.
			if err := e.SetOptions(got.ID, engine.OptionsPatch{DownloadKBps: ptr(200)}); err != nil {
				t.Fatal(err)
			}
			if err := e.Resume(got.ID); err != nil {
				t.Fatal(err)
			}
			enginetest.WaitFor(t, e, ref(got.ID), timeout, "the held pieces verified", func(x engine.Torrent) bool {
				return x.PiecesDone == tc.have && x.State != engine.StateChecking
			})
			// Turned on now, the window starts after what was verified.
			if err := e.SetOptions(got.ID, engine.OptionsPatch{Sequential: ptr(tc.seq)}); err != nil {
				t.Fatal(err)
			}
			if err := e.AddPeers(got.ID, []string{seeder.PeerAddr()}); err != nil {
				t.Fatal(err)
			}
			first := firstCompleted(t, e, got.ID, tc.have, firstK)
			out := 0
			for _, i := range first {
				if i < tc.lo || i >= tc.hi {
					out++
				}
			}
			t.Logf("first %d pieces to complete: %v", len(first), first)
			if out > tc.misplaced {
				t.Errorf("sequential %v: %d of the first %d pieces to complete are outside [%d, %d), want at most %d; pieces %v",
					tc.seq, out, len(first), tc.lo, tc.hi, tc.misplaced, first)
			}
			if x, _ := e.Get(ref(got.ID)); x.Options.Sequential != tc.seq {
				t.Errorf("Options.Sequential = %v, want %v", x.Options.Sequential, tc.seq)
			}
			// Finish at full speed: closing the engine while pieces are
			// being hashed lets a hasher log after the test has ended.
			if err := e.SetOptions(got.ID, engine.OptionsPatch{DownloadKBps: ptr(0)}); err != nil {
				t.Fatal(err)
			}
			enginetest.WaitFor(t, e, ref(got.ID), timeout, "the rest of the wanted pieces", enginetest.Complete)
		})
	}
}

// firstCompleted polls until at least k files beyond the first have are
// complete and returns their indices, in index order.
func firstCompleted(t *testing.T, e *engine.Engine, id int64, have, k int) []int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		x, err := e.Get(ref(id))
		if err != nil {
			t.Fatal(err)
		}
		var done []int
		for _, f := range x.Files {
			if f.Index >= have && f.Size > 0 && f.Done == f.Size {
				done = append(done, f.Index)
			}
		}
		if len(done) >= k {
			slices.Sort(done)
			return done
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d pieces complete after %v, want %d", len(done), len(x.Files)-have, timeout, k)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
