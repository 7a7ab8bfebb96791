package link

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
)

// TestAcceptedTorrentsLoadInAnacrolix adds every torrent this package
// accepts to a real anacrolix client (offline, loopback only) and checks
// that Files matches the client's own file list, index by index: the
// engine selects files by those indexes.
func TestAcceptedTorrentsLoadInAnacrolix(t *testing.T) {
	cfg := torrent.NewDefaultClientConfig()
	cfg.DataDir = t.TempDir()
	cfg.DefaultStorage = storage.NewFileOpts(storage.NewFileClientOpts{
		ClientBaseDir:   cfg.DataDir,
		PieceCompletion: storage.NewMapPieceCompletion(),
		UsePartFiles:    g.Some(false),
	})
	cfg.NoDHT = true
	cfg.DisableTrackers = true
	cfg.NoDefaultPortForwarding = true
	cfg.DisableWebtorrent = true
	cfg.DisableWebseeds = true
	cfg.DisableIPv6 = true
	cfg.DisableUTP = true
	cfg.ListenHost = func(string) string { return "127.0.0.1" }
	cfg.ListenPort = 0
	cfg.Slogger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })

	paths, err := filepath.Glob("testdata/*.torrent")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			ours, err := ParseTorrent(b)
			if err != nil {
				t.Skipf("refused: %v", err)
			}
			tor, err := cl.AddTorrent(ours.MetaInfo)
			if err != nil {
				t.Fatalf("anacrolix AddTorrent = %v", err)
			}
			defer tor.Drop()
			<-tor.GotInfo()
			if tor.InfoHash() != ours.InfoHash {
				t.Errorf("anacrolix infohash %x, ours %x", tor.InfoHash(), ours.InfoHash)
			}
			theirs := tor.Files()
			if len(theirs) != len(ours.Files) {
				t.Fatalf("anacrolix has %d files, we have %d", len(theirs), len(ours.Files))
			}
			for i, f := range theirs {
				o := ours.Files[i]
				// Where anacrolix's file storage puts it (its default
				// FilePathMaker).
				var where []string
				if name := tor.Info().BestName(); name != metainfo.NoName {
					where = append(where, name)
				}
				fi := f.FileInfo()
				where = append(where, fi.BestPath()...)
				if f.Length() != o.Length || f.Offset() != o.Offset || !slices.Equal(where, o.Path) {
					t.Errorf("file %d: anacrolix %q %d@%d, ours %q %d@%d", i, where, f.Length(), f.Offset(), o.Path, o.Length, o.Offset)
				}
			}
			if tor.Length() != ours.TotalLength {
				t.Errorf("anacrolix length %d, ours %d", tor.Length(), ours.TotalLength)
			}
		})
	}
}
