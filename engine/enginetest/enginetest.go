// Package enginetest has helpers for tests that run real engines on
// loopback: a tuned offline config, torrents made from random data, and
// waiting for a torrent to reach a state. Nothing here talks to anything
// but 127.0.0.1.
package enginetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/store"
)

// Config returns a desktop-profile config for a test engine: data under
// dataDir, peer port picked by the OS, no DHT, no UPnP, no trackers.
func Config(t testing.TB, dataDir string) *config.Config {
	t.Helper()
	c, err := config.Default("desktop")
	if err != nil {
		t.Fatalf("config.Default: %v", err)
	}
	c.DataDir = dataDir
	c.Torrent.PeerPort = 0
	c.Torrent.DHT = false
	c.Torrent.PortForwarding = false
	c.Torrent.IPv6 = false
	c.Torrent.DownloadDir = filepath.Join(dataDir, "downloads")
	c.Queue.MaxDownloads = 0
	c.Queue.MaxSeeds = 0
	c.Queue.SeedRatio = 0
	c.Queue.SeedIdle = 0
	return c
}

// Logger returns a logger that writes to the test log at warn level, or
// debug with HEARTH_TEST_DEBUG=1.
func Logger(t testing.TB) *slog.Logger {
	lvl := slog.LevelWarn
	if os.Getenv("HEARTH_TEST_DEBUG") != "" {
		lvl = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(NewTestWriter(t), &slog.HandlerOptions{Level: lvl}))
}

// TestWriter writes each line it is given to the test log until the test
// ends; later writes are dropped. Goroutines the engine cannot wait for
// (anacrolix's piece hashers outlive Client.Close) may log after a test
// has finished, and testing panics on that ("Log in goroutine after Test…
// has completed"). Make it with NewTestWriter; the zero value of the
// guard (TestWriter{T: t}) logs without that protection.
type TestWriter struct {
	T     testing.TB
	guard *writerGuard
}

type writerGuard struct {
	mu   sync.Mutex
	done bool
}

// NewTestWriter returns a TestWriter that stops writing when t's cleanups run.
func NewTestWriter(t testing.TB) TestWriter {
	g := &writerGuard{}
	t.Cleanup(func() {
		g.mu.Lock()
		g.done = true
		g.mu.Unlock()
	})
	return TestWriter{T: t, guard: g}
}

func (w TestWriter) Write(p []byte) (int, error) {
	if w.guard != nil {
		w.guard.mu.Lock()
		defer w.guard.mu.Unlock()
		if w.guard.done {
			return len(p), nil
		}
	}
	w.T.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Node is a test engine with its own store and folders.
type Node struct {
	Engine *engine.Engine
	Store  store.Store
	Dir    string
	Config *config.Config
	t      testing.TB
}

// NodeOptions tune StartNode.
type NodeOptions struct {
	Dir     string // reuse a data dir (restart); empty = new temp dir
	Backend string // store backend; empty = default for this CPU
	Config  func(*config.Config)
}

// StartNode opens a store and starts an engine on 127.0.0.1. It is closed
// at the end of the test unless closed earlier.
func StartNode(t testing.TB, o NodeOptions) *Node {
	t.Helper()
	dir := o.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	c := Config(t, dir)
	if o.Config != nil {
		o.Config(c)
	}
	st, err := store.Open(store.Options{Dir: filepath.Join(dir, "state"), Backend: o.Backend, Logger: Logger(t)})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	e, err := engine.New(engine.Options{Config: c, Store: st, Logger: Logger(t), ListenHost: "127.0.0.1"})
	if err != nil {
		st.Close()
		t.Fatalf("start engine: %v", err)
	}
	n := &Node{Engine: e, Store: st, Dir: dir, Config: c, t: t}
	t.Cleanup(n.Close)
	return n
}

// Close stops the engine and closes the store; safe to call twice.
func (n *Node) Close() {
	if n.Engine == nil {
		return
	}
	if err := n.Engine.Close(); err != nil {
		n.t.Errorf("close engine: %v", err)
	}
	if err := n.Store.Close(); err != nil {
		n.t.Errorf("close store: %v", err)
	}
	n.Engine = nil
}

// PeerAddr is the node's peer address on loopback.
func (n *Node) PeerAddr() string {
	return fmt.Sprintf("127.0.0.1:%d", n.Engine.Stats().PeerPort)
}

// File describes one file of a test torrent.
type File struct {
	Path string // slash separated
	Size int64
}

// Torrent is test content on disk with its .torrent.
type Torrent struct {
	Dir       string // folder holding Name
	Name      string
	Metainfo  []byte
	InfoHash  string
	PieceSize int64
	Files     []File
}

// MakeTorrent writes random files under dir/name and builds a v1 torrent
// of them with the given piece size (0 = 32 KiB).
func MakeTorrent(t testing.TB, dir, name string, pieceSize int64, files []File) *Torrent {
	t.Helper()
	if pieceSize == 0 {
		pieceSize = 32 << 10
	}
	root := filepath.Join(dir, name)
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		fh, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(fh, rand.Reader, f.Size); err != nil {
			t.Fatal(err)
		}
		if err := fh.Close(); err != nil {
			t.Fatal(err)
		}
	}
	mi, ih := BuildTorrent(t, dir, name, pieceSize)
	return &Torrent{Dir: dir, Name: name, Metainfo: mi, InfoHash: ih, PieceSize: pieceSize, Files: files}
}

// BuildTorrent makes a v1 .torrent of the files already under dir/name,
// with the given piece size, and returns it with its infohash (hex).
func BuildTorrent(t testing.TB, dir, name string, pieceSize int64) (torrentFile []byte, infoHash string) {
	t.Helper()
	info := metainfo.Info{PieceLength: pieceSize}
	if err := info.BuildFromFilePath(filepath.Join(dir, name)); err != nil {
		t.Fatalf("build torrent: %v", err)
	}
	info.Name = name
	return MetaInfoBytes(t, info)
}

// MetaInfoBytes is info as a .torrent file (created by "hearth test"), and
// its info hash in hex.
func MetaInfoBytes(t testing.TB, info metainfo.Info) (torrentFile []byte, infoHash string) {
	t.Helper()
	ib, err := bencode.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	mi := metainfo.MetaInfo{InfoBytes: ib, CreatedBy: "hearth test", CreationDate: time.Now().Unix()}
	var buf bytes.Buffer
	if err := mi.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mi.HashInfoBytes().HexString()
}

// SameFiles fails the test unless every file of tt under dir equals the original.
func SameFiles(t testing.TB, tt *Torrent, dir string) {
	t.Helper()
	for _, f := range tt.Files {
		want, err := os.ReadFile(filepath.Join(tt.Dir, tt.Name, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, tt.Name, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatalf("downloaded file: %v", err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s: downloaded data differ from the original (%d vs %d bytes)", f.Path, len(got), len(want))
		}
	}
}

// WaitFor polls until cond holds for torrent ref, or fails after timeout
// with the last state seen. Timeouts are generous: they catch hangs, they
// do not measure speed.
func WaitFor(t testing.TB, e *engine.Engine, ref string, timeout time.Duration, what string, cond func(engine.Torrent) bool) engine.Torrent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var last engine.Torrent
	for {
		tt, err := e.Get(ref)
		if err == nil {
			last = tt
			if cond(tt) {
				return tt
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("torrent %s: timed out waiting for %s; last state %s, %d/%d bytes, peers %d, error %q (err %v)",
				ref, what, last.State, last.Done, last.WantedSize, last.Peers, last.Error, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Complete is a WaitFor condition: every wanted byte verified.
func Complete(tt engine.Torrent) bool {
	return tt.HasMetadata && tt.Done == tt.WantedSize && tt.WantedSize > 0
}

// ClassicFileIO makes the test binary run anacrolix/torrent with classic
// file IO, as the daemon does (cmd/hearth/fileio.go). The library reads
// the variable in a package init, so this sets it and re-executes the test
// binary once; call it first thing in TestMain.
func ClassicFileIO() {
	const key = "TORRENT_STORAGE_DEFAULT_FILE_IO"
	if os.Getenv(key) == "classic" {
		return
	}
	os.Setenv(key, "classic")
	exe, err := os.Executable()
	if err == nil {
		err = syscall.Exec(exe, os.Args, os.Environ())
	}
	fmt.Fprintln(os.Stderr, "re-exec with classic file IO:", err)
	os.Exit(2)
}
