// Package peers runs real BitTorrent clients from Debian (transmission-daemon
// 3.00, aria2c 1.36) as peers for interop tests, each in a network namespace
// from package netns (or on the host when ns is nil), with its own config
// directory under t.TempDir(), a fresh peer port, and DHT, LPD, PEX, UPnP
// and NAT-PMP off: such a peer finds others only through a tracker the test
// runs itself (package tracker). Each is killed and its files removed when
// the test ends; on failure the tail of its log goes to the test log.
//
// A client is driven over its own RPC on the loopback address of its
// namespace; the test process reaches it through netns.NS.DialContext.
//
// Missing programs fail the test when HEARTH_TEST_REQUIRE_PEERS=1 (set by
// `make test`) and skip it otherwise.
package peers

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/hearth-media/hearth/engine/enginetest/netns"
)

// EnvRequire turns "skip" into "fail" when a client program is missing.
const EnvRequire = "HEARTH_TEST_REQUIRE_PEERS"

// Require fails (HEARTH_TEST_REQUIRE_PEERS=1) or skips the test unless
// every named program is on PATH.
func Require(t testing.TB, programs ...string) {
	t.Helper()
	var missing []string
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("missing %s (run scripts/test-deps.sh as root)", strings.Join(missing, ", "))
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("%s; %s=1", msg, EnvRequire)
	}
	t.Skip(msg)
}

// process is a client program started for one test.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	waitErr error

	mu      sync.Mutex
	peakRSS int64
	stopped bool
}

// start runs argv inside ns (host when nil) with output to logPath.
func start(t testing.TB, ns *netns.NS, logPath string, argv ...string) *process {
	t.Helper()
	var cmd *exec.Cmd
	if ns != nil {
		cmd = ns.Command(context.Background(), argv[0], argv[1:]...)
	} else {
		cmd = exec.Command(argv[0], argv[1:]...)
	}
	cmd.Env = cleanEnv()
	lf, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("create %s: %v", logPath, err)
	}
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		lf.Close()
		t.Fatalf("start %s: %v", argv[0], err)
	}
	lf.Close() // the child has its own copy
	p := &process{name: filepath.Base(argv[0]), cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s (pid %d) log tail:\n%s", p.name, cmd.Process.Pid, tail(logPath, 40))
		}
	})
	return p
}

// cleanEnv is the test's environment without proxy settings: libcurl in
// transmission would otherwise send tracker announces to a proxy.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasSuffix(strings.ToLower(k), "_proxy") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// exited returns an error when the process has already ended.
func (p *process) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited: %v; log:\n%s", p.name, p.waitErr, tail(p.logPath, 20))
	default:
		return nil
	}
}

// stop records the peak RSS and kills the process.
func (p *process) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.stopped = true
	if rss, err := vmHWM(p.cmd.Process.Pid); err == nil {
		p.peakRSS = rss
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

// PeakRSS is VmHWM while running, or as read just before stop.
func (p *process) PeakRSS() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopped {
		if rss, err := vmHWM(p.cmd.Process.Pid); err == nil {
			p.peakRSS = rss
		}
	}
	return p.peakRSS
}

// vmHWM reads the peak resident set size of pid, in bytes.
func vmHWM(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmHWM %q: %w", v, err)
			}
			return kb * 1024, nil
		}
	}
	if err := s.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmHWM for pid %d", pid)
}

func tail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// freePort returns a TCP port that is free inside ns (host when nil). In a
// fresh namespace nearly every port is; the check guards the host case.
func freePort(t testing.TB, ns *netns.NS) int {
	t.Helper()
	var l net.Listener
	var err error
	if ns != nil {
		l, err = ns.Listen("tcp4", "0.0.0.0:0")
	} else {
		l, err = net.Listen("tcp4", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatalf("pick a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// httpClient reaches 127.0.0.1 inside ns (the host's when nil).
func httpClient(ns *netns.NS) *http.Client {
	tr := &http.Transport{DisableKeepAlives: true, Proxy: nil}
	if ns != nil {
		tr.DialContext = ns.DialContext
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// waitUntil polls check every 100 ms until it reports done or an error,
// proc exits, or ctx ends.
func waitUntil(ctx context.Context, p *process, what string, check func() (bool, error)) error {
	var last error
	for {
		done, err := check()
		if done && err == nil {
			return nil
		}
		if err != nil && done {
			return err // final
		}
		last = err
		if err := p.exited(); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%s: %w (last: %v)", what, ctx.Err(), last)
			}
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// File is one file of a test torrent: a path relative to the torrent's
// root (slash-separated) and a size.
type File struct {
	Path string
	Size int64
}

// Torrent is a .torrent written by MakeTorrent, with its data on disk.
type Torrent struct {
	// Path is the .torrent file.
	Path string
	// InfoHash is the v1 infohash, lower-case hex.
	InfoHash string
	// Name is the torrent's name: the top directory under a download dir.
	Name string
	// DataDir holds Name/...: pass it as the seeder's download dir.
	DataDir string
	// Size is the total length of the files.
	Size int64
}

// MakeTorrent writes random files under dir/data/name and a multi-file v1
// torrent for them at dir/name.torrent that announces to announce (no
// tracker when ""). pieceLength 0 means 256 KiB.
func MakeTorrent(t testing.TB, dir, name, announce string, pieceLength int64, files []File) *Torrent {
	t.Helper()
	if pieceLength == 0 {
		pieceLength = 256 << 10
	}
	dataDir := filepath.Join(dir, "data")
	var seed [32]byte
	copy(seed[:], name)
	rng := rand.NewChaCha8(seed)
	var total int64
	for _, f := range files {
		p := filepath.Join(dataDir, name, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		w, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(w, rng, f.Size); err != nil {
			t.Fatalf("write %s: %v", p, err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		total += f.Size
	}
	info := metainfo.Info{PieceLength: pieceLength}
	if err := info.BuildFromFilePath(filepath.Join(dataDir, name)); err != nil {
		t.Fatalf("hash %s: %v", name, err)
	}
	ib, err := bencode.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	mi := metainfo.MetaInfo{InfoBytes: ib, Announce: announce, CreatedBy: "hearth enginetest/peers", CreationDate: time.Now().Unix()}
	tp := filepath.Join(dir, name+".torrent")
	w, err := os.Create(tp)
	if err != nil {
		t.Fatal(err)
	}
	if err := mi.Write(w); err != nil {
		t.Fatalf("write %s: %v", tp, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(ib)
	return &Torrent{Path: tp, InfoHash: hex.EncodeToString(sum[:]), Name: name, DataDir: dataDir, Size: total}
}

// infoHash reads a .torrent and returns its v1 infohash in lower-case hex
// and its bytes.
func infoHash(torrentPath string) (string, []byte, error) {
	b, err := os.ReadFile(torrentPath)
	if err != nil {
		return "", nil, err
	}
	mi, err := metainfo.Load(bytes.NewReader(b))
	if err != nil {
		return "", nil, fmt.Errorf("parse %s: %w", torrentPath, err)
	}
	sum := sha1.Sum(mi.InfoBytes)
	return hex.EncodeToString(sum[:]), b, nil
}

// SameTree compares two directory trees file by file, byte for byte, and
// returns the first difference.
func SameTree(want, got string) error {
	seen := 0
	err := filepath.WalkDir(want, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		seen++
		return sameFile(p, filepath.Join(got, rel))
	})
	if err != nil {
		return err
	}
	n := 0
	err = filepath.WalkDir(got, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		return err
	}
	if n != seen {
		return fmt.Errorf("%s has %d files, %s has %d", got, n, want, seen)
	}
	return nil
}

func sameFile(a, b string) error {
	fa, err := os.Open(a)
	if err != nil {
		return err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return err
	}
	defer fb.Close()
	ra, rb := bufio.NewReaderSize(fa, 1<<16), bufio.NewReaderSize(fb, 1<<16)
	ba, bb := make([]byte, 1<<16), make([]byte, 1<<16)
	var off int64
	for {
		na, ea := io.ReadFull(ra, ba)
		nb, eb := io.ReadFull(rb, bb)
		if !bytes.Equal(ba[:na], bb[:nb]) {
			i := 0
			for i < na && i < nb && ba[i] == bb[i] {
				i++
			}
			return fmt.Errorf("%s and %s differ at byte %d", a, b, off+int64(i))
		}
		off += int64(na)
		if ea != nil || eb != nil {
			if (ea == io.EOF || ea == io.ErrUnexpectedEOF) && (eb == io.EOF || eb == io.ErrUnexpectedEOF) {
				return nil
			}
			return fmt.Errorf("compare %s and %s: %v, %v", a, b, ea, eb)
		}
	}
}
