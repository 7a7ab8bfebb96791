package peers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine/enginetest/netns"
)

// Aria2Options configures StartAria2. The zero value is fine.
type Aria2Options struct {
	// PeerPort is the BitTorrent port; 0 picks a free one.
	PeerPort int
	// Args are extra aria2c options (--name=value), after the defaults.
	Args []string
}

// Aria2 is an aria2c process started for one test, driven by its JSON-RPC.
// Every torrent added keeps seeding after it completes (--seed-ratio=0), so
// the same driver serves as a seeder (Add over existing data: aria2 checks
// it first) and as a leecher.
type Aria2 struct {
	// Dir holds its log and default download directory.
	Dir string
	// PeerPort is the port it accepts peers on.
	PeerPort int
	// RPCPort is the port of its JSON-RPC, on 127.0.0.1 inside its namespace.
	RPCPort int

	proc   *process
	client *http.Client
	url    string

	mu   sync.Mutex
	gids map[string]string // infohash → gid
}

// StartAria2 starts aria2c inside ns (the host when nil) and waits until
// its RPC answers.
func StartAria2(t testing.TB, ns *netns.NS, opts Aria2Options) *Aria2 {
	t.Helper()
	Require(t, "aria2c")
	a := &Aria2{Dir: t.TempDir(), PeerPort: opts.PeerPort, client: httpClient(ns), gids: make(map[string]string)}
	if a.PeerPort == 0 {
		a.PeerPort = freePort(t, ns)
	}
	a.RPCPort = freePort(t, ns)
	for a.RPCPort == a.PeerPort {
		a.RPCPort = freePort(t, ns)
	}
	a.url = "http://127.0.0.1:" + strconv.Itoa(a.RPCPort) + "/jsonrpc"
	args := []string{
		"aria2c",
		"--no-conf",
		"--enable-rpc", "--rpc-listen-all=false", "--rpc-listen-port=" + strconv.Itoa(a.RPCPort),
		"--listen-port=" + strconv.Itoa(a.PeerPort),
		"--enable-dht=false", "--enable-dht6=false", "--dht-file-path=" + filepath.Join(a.Dir, "dht.dat"),
		"--bt-enable-lpd=false", "--enable-peer-exchange=false",
		"--disable-ipv6=true",
		"--seed-ratio=0",
		"--check-integrity=true", "--bt-hash-check-seed=true",
		"--file-allocation=none",
		"--bt-save-metadata=false", "--rpc-save-upload-metadata=false", "--auto-save-interval=0",
		"--auto-file-renaming=false", "--allow-overwrite=true",
		"--summary-interval=0", "--console-log-level=warn",
		"--log=" + filepath.Join(a.Dir, "aria2-debug.log"), "--log-level=info",
		"--dir=" + filepath.Join(a.Dir, "downloads"),
		// If the test process dies, aria2 follows it.
		"--stop-with-process=" + strconv.Itoa(os.Getpid()),
	}
	args = append(args, opts.Args...)
	a.proc = start(t, ns, filepath.Join(a.Dir, "aria2.log"), args...)

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := waitUntil(ctx, a.proc, "aria2c RPC", func() (bool, error) {
		var v struct {
			Version string `json:"version"`
		}
		err := a.call(ctx, "aria2.getVersion", nil, &v)
		return err == nil, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// PID is aria2c's process id.
func (a *Aria2) PID() int { return a.proc.cmd.Process.Pid }

// PeakRSS is aria2c's peak resident set size (VmHWM) in bytes.
func (a *Aria2) PeakRSS() int64 { return a.proc.PeakRSS() }

// Stop kills aria2c now (the test's cleanup would do it later).
func (a *Aria2) Stop() { a.proc.stop() }

// Add adds a .torrent, saving into downloadDir (where a seeder's data
// already is; aria2 checks it first).
func (a *Aria2) Add(ctx context.Context, torrentPath, downloadDir string) error {
	ih, b, err := infoHash(torrentPath)
	if err != nil {
		return fmt.Errorf("aria2 add: %w", err)
	}
	var gid string
	err = a.call(ctx, "aria2.addTorrent", []any{base64.StdEncoding.EncodeToString(b), []string{}, map[string]string{
		"dir": downloadDir,
	}}, &gid)
	if err != nil {
		return fmt.Errorf("aria2 add %s: %w", torrentPath, err)
	}
	a.mu.Lock()
	a.gids[ih] = gid
	a.mu.Unlock()
	return nil
}

// Aria2Stats is one download's state as aria2 reports it.
type Aria2Stats struct {
	GID             string
	Status          string // active, waiting, paused, error, complete, removed
	TotalLength     int64
	CompletedLength int64
	VerifiedLength  int64
	UploadLength    int64
	DownloadSpeed   int64
	UploadSpeed     int64
	Connections     int
	Seeder          bool
	Verifying       bool
	ErrorCode       string
	ErrorMessage    string
}

// Stats returns the state of the torrent with this infohash (hex), which
// must have been added with Add.
func (a *Aria2) Stats(ctx context.Context, infohash string) (Aria2Stats, error) {
	a.mu.Lock()
	gid, ok := a.gids[infohash]
	a.mu.Unlock()
	if !ok {
		return Aria2Stats{}, fmt.Errorf("aria2 stats %s: not added", infohash)
	}
	var r map[string]any
	err := a.call(ctx, "aria2.tellStatus", []any{gid, []string{"status", "totalLength", "completedLength",
		"verifiedLength", "verifyIntegrityPending", "uploadLength", "downloadSpeed", "uploadSpeed",
		"connections", "seeder", "errorCode", "errorMessage"}}, &r)
	if err != nil {
		return Aria2Stats{}, fmt.Errorf("aria2 stats %s: %w", infohash, err)
	}
	str := func(k string) string { s, _ := r[k].(string); return s }
	num := func(k string) int64 { n, _ := strconv.ParseInt(str(k), 10, 64); return n }
	_, verifying := r["verifiedLength"]
	return Aria2Stats{
		GID: gid, Status: str("status"),
		TotalLength: num("totalLength"), CompletedLength: num("completedLength"),
		VerifiedLength: num("verifiedLength"), UploadLength: num("uploadLength"),
		DownloadSpeed: num("downloadSpeed"), UploadSpeed: num("uploadSpeed"),
		Connections: int(num("connections")), Seeder: str("seeder") == "true",
		Verifying: verifying || str("verifyIntegrityPending") == "true",
		ErrorCode: str("errorCode"), ErrorMessage: str("errorMessage"),
	}, nil
}

// WaitComplete waits until the torrent has every byte (a leecher finished,
// or a seeder's check found all data), or fails on a download error,
// aria2's exit, or ctx.
func (a *Aria2) WaitComplete(ctx context.Context, infohash string) error {
	return waitUntil(ctx, a.proc, "aria2 wait "+infohash, func() (bool, error) {
		s, err := a.Stats(ctx, infohash)
		if err != nil {
			return false, err
		}
		switch s.Status {
		case "error", "removed":
			return true, fmt.Errorf("aria2 torrent %s: %s (code %s: %s)", infohash, s.Status, s.ErrorCode, s.ErrorMessage)
		}
		if s.TotalLength > 0 && s.CompletedLength == s.TotalLength && !s.Verifying && (s.Seeder || s.Status == "complete") {
			return true, nil
		}
		return false, fmt.Errorf("%d/%d bytes, status %s, %d connections", s.CompletedLength, s.TotalLength, s.Status, s.Connections)
	})
}

// call makes one JSON-RPC 2.0 call.
func (a *Aria2) call(ctx context.Context, method string, params any, result any) error {
	req := map[string]any{"jsonrpc": "2.0", "id": "1", "method": method}
	if params != nil {
		req["params"] = params
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, a.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(hr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return fmt.Errorf("rpc %s: %s: %w", method, resp.Status, err)
	}
	if r.Error != nil {
		return fmt.Errorf("rpc %s: %d %s", method, r.Error.Code, r.Error.Message)
	}
	if result == nil {
		return nil
	}
	return json.Unmarshal(r.Result, result)
}
