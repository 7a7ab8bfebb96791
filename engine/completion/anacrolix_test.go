package completion_test

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"

	"github.com/hearth-media/hearth/engine/completion"
	"github.com/hearth-media/hearth/engine/store"
)

// makeTorrent writes a two-file payload under dir and returns its metainfo
// with 16 KiB pieces.
func makeTorrent(t *testing.T, dir string) *metainfo.MetaInfo {
	t.Helper()
	root := filepath.Join(dir, "payload")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for name, size := range map[string]int{"a.bin": 150 << 10, "b.bin": 70<<10 + 123} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		if err := os.WriteFile(filepath.Join(root, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	info := metainfo.Info{PieceLength: 16 << 10}
	if err := info.BuildFromFilePath(root); err != nil {
		t.Fatal(err)
	}
	mi := &metainfo.MetaInfo{}
	var err error
	if mi.InfoBytes, err = bencode.Marshal(info); err != nil {
		t.Fatal(err)
	}
	return mi
}

func newStorage(dir string, c *completion.Completion) storage.ClientImplCloser {
	return storage.NewFileOpts(storage.NewFileClientOpts{
		ClientBaseDir:   dir,
		PieceCompletion: c,
		UsePartFiles:    g.Some(false),
		Logger:          slog.New(slog.DiscardHandler),
	})
}

// TestStorageRoundTrip marks pieces through anacrolix's file storage and
// reads them back through a new storage on the reopened store.
func TestStorageRoundTrip(t *testing.T) {
	forBackends(t, func(t *testing.T, s store.Store, reopen func(store.Store) store.Store) {
		dir := t.TempDir()
		mi := makeTorrent(t, dir)
		info, err := mi.UnmarshalInfo()
		if err != nil {
			t.Fatal(err)
		}
		ih := mi.HashInfoBytes()
		open := func(c *completion.Completion) (storage.ClientImplCloser, storage.TorrentImpl) {
			ci := newStorage(dir, c)
			ts, err := ci.OpenTorrent(context.Background(), &info, ih)
			if err != nil {
				t.Fatal(err)
			}
			return ci, ts
		}
		c := completion.New(s)
		ci, ts := open(c)
		n := info.NumPieces()
		for i := range n {
			p := ts.Piece(info.Piece(i))
			if got := p.Completion(); got.Ok {
				t.Fatalf("piece %d before marking = %+v, want Ok false", i, got)
			}
			mark := p.MarkComplete
			if i == 3 {
				mark = p.MarkNotComplete
			}
			if err := mark(); err != nil {
				t.Fatalf("mark piece %d: %v", i, err)
			}
		}
		ts.Close()
		ci.Close() // closes the piece completion: must not close the store
		if _, err := s.Get([]byte("nothing")); errors.Is(err, store.ErrClosed) {
			t.Fatal("closing anacrolix storage closed the store")
		}

		c = completion.New(reopen(s))
		ci, ts = open(c)
		defer ci.Close()
		defer ts.Close()
		if s.Backend() != store.BackendMemory {
			for i := range n {
				got := ts.Piece(info.Piece(i)).Completion()
				if want := (storage.Completion{Ok: true, Complete: i != 3}); got != want {
					t.Errorf("piece %d after reopen = %+v, want %+v", i, got, want)
				}
			}
		}
		if c.Sets() != 0 {
			t.Errorf("Sets() = %d after only reading, want 0", c.Sets())
		}
	})
}

// TestClientNoRehashAfterRestart runs a real anacrolix client over the
// payload twice: the first run hashes every piece, the second (on the
// reopened store) hashes none. Dropping one mark makes the client hash
// exactly that piece, which shows Sets() would catch a re-hash.
func TestClientNoRehashAfterRestart(t *testing.T) {
	for _, b := range store.Backends() {
		if b == store.BackendMemory {
			continue
		}
		t.Run(b, func(t *testing.T) {
			dataDir, storeDir := t.TempDir(), t.TempDir()
			mi := makeTorrent(t, dataDir)
			info, err := mi.UnmarshalInfo()
			if err != nil {
				t.Fatal(err)
			}
			n := info.NumPieces()
			ih := mi.HashInfoBytes()

			run := func(wantSets int64) {
				t.Helper()
				s, err := store.Open(store.Options{Dir: storeDir, Backend: b})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				c := completion.New(s)
				cl := newClient(t, dataDir, c)
				defer cl.Close()
				tor, err := cl.AddTorrent(mi)
				if err != nil {
					t.Fatal(err)
				}
				select {
				case <-tor.Complete().On():
				case <-time.After(30 * time.Second):
					t.Fatalf("torrent not complete after 30s: %d of %d bytes", tor.BytesCompleted(), info.TotalLength())
				}
				if got := c.Sets(); got != wantSets {
					t.Errorf("Sets() = %d, want %d", got, wantSets)
				}
				if k, err := c.Count(ih); err != nil || k != n {
					t.Errorf("Count = %d, %v; want %d", k, err, n)
				}
			}
			run(int64(n)) // hashes every piece
			run(0)        // trusts the marks

			s, err := store.Open(store.Options{Dir: storeDir, Backend: b})
			if err != nil {
				t.Fatal(err)
			}
			pc := completion.New(s)
			bm, err := pc.Bitmap(ih, n)
			if err != nil {
				t.Fatal(err)
			}
			for i, ok := range bm {
				if !ok {
					t.Errorf("piece %d not marked complete", i)
				}
			}
			if err := s.Delete(append(append([]byte(completion.Prefix), ih[:]...), 0, 0, 0, 5)); err != nil {
				t.Fatal(err)
			}
			s.Close()
			run(1) // hashes piece 5 only
		})
	}
}

func newClient(t *testing.T, dataDir string, c *completion.Completion) *torrent.Client {
	t.Helper()
	cfg := torrent.NewDefaultClientConfig()
	cfg.DataDir = dataDir
	cfg.DefaultStorage = newStorage(dataDir, c)
	cfg.SetListenAddr("127.0.0.1:0")
	cfg.NoDHT = true
	cfg.DisableTrackers = true
	cfg.NoDefaultPortForwarding = true
	cfg.DisableUTP = true
	cfg.DisableIPv6 = true
	cfg.DisableWebtorrent = true
	cfg.DisableWebseeds = true
	cfg.Slogger = slog.New(slog.DiscardHandler)
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}
