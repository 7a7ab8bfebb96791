package engine_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
)

// TestOpenFileStopped: a complete file reads from disk whatever the
// torrent's state; an incomplete file of a stopped torrent cannot be
// streamed (nothing would fetch its pieces).
func TestOpenFileStopped(t *testing.T) {
	files := []enginetest.File{{Path: "d/a.mkv", Size: 300<<10 + 5}, {Path: "b.flac", Size: 100 << 10}}
	tt := enginetest.MakeTorrent(t, t.TempDir(), "album", 32<<10, files)
	seeder, seeded := seed(t, tt)
	if err := seeder.Engine.Pause(seeded.ID); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	snap, err := seeder.Engine.Get(ref(seeded.ID))
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range snap.Files {
		r, err := seeder.Engine.OpenFile(ctx, seeded.ID, i)
		if err != nil {
			t.Fatalf("OpenFile(complete, paused, %d) = %v", i, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(tt.Dir, tt.Name, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) || r.Size() != f.Size || r.Path() != "album/"+f.Path {
			t.Errorf("file %d: read %d bytes (equal %v), size %d, path %q; want %d bytes, size %d, path %q",
				i, len(got), string(got) == string(want), r.Size(), r.Path(), len(want), f.Size, "album/"+f.Path)
		}
	}
	if _, err := seeder.Engine.OpenFile(ctx, seeded.ID, 2); !errors.Is(err, engine.ErrNoFile) {
		t.Errorf("OpenFile(index 2) = %v, want ErrNoFile", err)
	}
	if _, err := seeder.Engine.OpenFile(ctx, 12345, 0); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("OpenFile(unknown torrent) = %v, want ErrNotFound", err)
	}

	leecher := enginetest.StartNode(t, enginetest.NodeOptions{})
	got, _, err := leecher.Engine.Add(ctx, engine.AddRequest{Metainfo: tt.Metainfo, Paused: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leecher.Engine.OpenFile(ctx, got.ID, 0); !errors.Is(err, engine.ErrNotRunning) {
		t.Errorf("OpenFile(incomplete, paused) = %v, want ErrNotRunning", err)
	}
}
