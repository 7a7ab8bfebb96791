package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/hearth-media/hearth/engine"
)

// The end-to-end tests build the real binary once per test run and start
// it as a daemon on loopback, with the DHT, UPnP and IPv6 off: the daemon
// sends nothing anywhere. Client commands run in-process against it.

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// hearthBinary builds ./cmd/hearth (CGO_ENABLED=0, like the devices' build)
// on first use.
func hearthBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "hearth-e2e-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "hearth")
		cmd := exec.Command("go", "build", "-o", binPath, "-ldflags", "-X main.version=e2e-test -X main.commit=e2ecommit", ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func cleanupBinary() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type daemonProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	api  string
	logs *lockedBuffer
	done chan error
}

// daemonEnv is the daemon's environment: nothing of the user's HEARTH_*
// settings, Go memory settings or home, no file IO choice (the binary must make it itself),
// and the network features that would leave loopback turned off.
func daemonEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "HEARTH_") || strings.HasPrefix(kv, fileIOEnv+"=") ||
			strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "XDG_") ||
			strings.HasPrefix(kv, "GOGC=") || strings.HasPrefix(kv, "GOMEMLIMIT=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home,
		"HEARTH_TORRENT_DHT=false", "HEARTH_TORRENT_PORT_FORWARDING=false", "HEARTH_TORRENT_IPV6=false",
		"HEARTH_LOG_LEVEL=debug")
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startDaemonProc runs "hearth serve" on dataDir and waits until its API answers.
// Extra env entries (KEY=VALUE) are added to the daemon's environment.
func startDaemonProc(t *testing.T, dataDir string, env ...string) *daemonProc {
	t.Helper()
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(hearthBinary(t), "serve", "--data-dir", dataDir, "--listen", listen, "--peer-port", "0")
	cmd.Env = append(daemonEnv(dataDir), env...)
	d := &daemonProc{t: t, cmd: cmd, api: "http://" + listen, logs: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = d.logs, d.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.logs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-d.done:
			d.done <- err
			t.Fatalf("hearth serve exited: %v\n%s", err, d.logs.String())
		default:
		}
		resp, err := http.Get(d.api + "/api/v1/version")
		if err == nil {
			resp.Body.Close()
			// 401: up, but loopback is not trusted (access.trust_loopback = false).
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return d
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("hearth serve did not answer on %s within 30 s\n%s", d.api, d.logs.String())
	return nil
}

// stop sends SIGTERM and expects a clean exit.
func (d *daemonProc) stop() {
	d.t.Helper()
	if !terminate(d.t, d.cmd.Process, d.done) {
		d.t.FailNow()
	}
}

// terminate sends SIGTERM to a hearth daemon and expects exit 0 within
// 30 s (it kills it otherwise). It reports problems with t.Errorf and
// returns false when the daemon had to be killed or could not be signalled.
func terminate(t testing.TB, p *os.Process, done <-chan error) bool {
	t.Helper()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("signal hearth serve: %v", err)
		return false
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("hearth serve after SIGTERM: %v, want exit 0", err)
		}
		return true
	case <-time.After(30 * time.Second):
		p.Kill()
		<-done
		t.Errorf("hearth serve did not stop within 30 s of SIGTERM")
		return false
	}
}

// cli runs a client command in-process against the daemon.
func (d *daemonProc) cli(args ...string) (int, string, string) {
	d.t.Helper()
	return runHearth(d.t, append(args, "--api", d.api)...)
}

// mustCLI runs a client command that must succeed.
func (d *daemonProc) mustCLI(args ...string) string {
	d.t.Helper()
	code, out, errOut := d.cli(args...)
	if code != 0 {
		d.t.Fatalf("hearth %s = exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func (d *daemonProc) torrent(ref string) engine.Torrent {
	d.t.Helper()
	var t engine.Torrent
	if err := json.Unmarshal([]byte(d.mustCLI("info", ref, "--json")), &t); err != nil {
		d.t.Fatalf("info --json: %v", err)
	}
	return t
}

func (d *daemonProc) waitState(ref string, want engine.State) {
	d.t.Helper()
	deadline := time.Now().Add(60 * time.Second) // catches hangs; not a speed test
	var t engine.Torrent
	for time.Now().Before(deadline) {
		if t = d.torrent(ref); t.State == want {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.t.Fatalf("torrent %s: state %s (error %q), want %s", ref, t.State, t.Error, want)
}

// makeContent writes files under dir/name and a v1 .torrent of them at torrentPath.
func makeContent(t *testing.T, dir, name, torrentPath string, sizes ...int) (infoHash string, files []string) {
	t.Helper()
	root := filepath.Join(dir, name)
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, size := range sizes {
		f := fmt.Sprintf("file%d.bin", i)
		data := make([]byte, size)
		rand.Read(data)
		if err := os.WriteFile(filepath.Join(root, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	info := metainfo.Info{PieceLength: 64 << 10}
	if err := info.BuildFromFilePath(root); err != nil {
		t.Fatal(err)
	}
	info.Name = name
	ib, err := bencode.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	mi := metainfo.MetaInfo{InfoBytes: ib, CreatedBy: "hearth e2e test"}
	f, err := os.Create(torrentPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := mi.Write(f); err != nil {
		t.Fatal(err)
	}
	return mi.HashInfoBytes().HexString(), files
}

func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	downloads := filepath.Join(dir, "downloads")
	torrentFile := filepath.Join(dir, "e2e.torrent")
	ih, files := makeContent(t, downloads, "e2e-content", torrentFile, 300<<10, 100<<10, 1234)

	d := startDaemonProc(t, dir)

	// The re-exec gave the daemon classic file IO (same pid, new environment).
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", d.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(env, []byte(fileIOEnv+"=classic\x00")) {
		t.Errorf("daemon environment lacks %s=classic: the re-exec did not happen", fileIOEnv)
	}

	// Flags after the argument; the data is already there: it verifies and seeds.
	out := d.mustCLI("add", torrentFile, "--wait")
	if !strings.Contains(out, "added torrent 1: e2e-content\n") || !strings.Contains(out, "torrent 1 e2e-content: complete (410.8 kB)\n") {
		t.Errorf("add --wait output:\n%s", out)
	}
	if out := d.mustCLI("add", torrentFile); out != "already added as torrent 1: e2e-content\n" {
		t.Errorf("second add = %q", out)
	}

	out = d.mustCLI("ls")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "ID ") || !strings.Contains(lines[1], "100%") ||
		!strings.Contains(lines[1], "410.8 kB") || !strings.Contains(lines[1], "seeding") || !strings.HasSuffix(lines[1], "e2e-content") {
		t.Errorf("ls =\n%s", out)
	}
	var list struct{ Torrents []engine.Torrent }
	if err := json.Unmarshal([]byte(d.mustCLI("ls", "--json")), &list); err != nil || len(list.Torrents) != 1 || list.Torrents[0].InfoHash != ih {
		t.Errorf("ls --json = %+v, %v; want the one torrent", list, err)
	}

	out = d.mustCLI("info", "1")
	for _, want := range []string{"Name:        e2e-content\n", "Info hash:   " + ih + "\n", "State:       seeding\n", "Progress:    100% (410.8 kB of 410.8 kB)\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("info lacks %q:\n%s", want, out)
		}
	}
	for _, f := range files {
		if !strings.Contains(out, "yes     "+f+"\n") {
			t.Errorf("info's file table lacks %s:\n%s", f, out)
		}
	}
	if tor := d.torrent(ih); tor.ID != 1 || len(tor.Files) != 3 {
		t.Errorf("info %s --json = id %d with %d files, want 1 with 3", ih, tor.ID, len(tor.Files))
	}

	if out := d.mustCLI("pause", "1"); out != "paused torrent 1: e2e-content (stopped)\n" {
		t.Errorf("pause = %q", out)
	}
	if out := d.mustCLI("ls"); !strings.Contains(out, "stopped") {
		t.Errorf("ls after pause:\n%s", out)
	}
	if out := d.mustCLI("resume", "--all"); !strings.HasPrefix(out, "resumed torrent 1: e2e-content") {
		t.Errorf("resume --all = %q", out)
	}
	d.waitState("1", engine.StateSeeding)

	out = d.mustCLI("set", "1", "--up-limit", "50", "--seed-ratio", "3", "--skip", "2")
	if !strings.Contains(out, "updated torrent 1: e2e-content") || !strings.Contains(out, "up 50 kB/s, seed ratio 3") {
		t.Errorf("set = %q", out)
	}
	if tor := d.torrent("1"); tor.Files[2].Wanted || !tor.Files[0].Wanted || tor.Options.UploadKBps != 50 {
		t.Errorf("after set: files %+v options %+v, want file 2 skipped and 50 kB/s up", tor.Files, tor.Options)
	}
	out = d.mustCLI("set", "--global", "--max-seeds", "4", "--down-limit", "1000")
	if !strings.Contains(out, "Max seeds:      4\n") || !strings.Contains(out, "Download limit: 1000 kB/s\n") {
		t.Errorf("set --global =\n%s", out)
	}
	out = d.mustCLI("config")
	for _, want := range []string{"listen ", d.api[len("http://"):], "flag --listen", "torrent.dht ", "env HEARTH_TORRENT_DHT"} {
		if !strings.Contains(out, want) {
			t.Errorf("config lacks %q:\n%s", want, out)
		}
	}
	if !hasRow(out, "queue.max_seeds", "4", "api saved setting") {
		t.Errorf("config does not show queue.max_seeds 4 from the API:\n%s", out)
	}

	if out := d.mustCLI("verify", "1"); !strings.HasPrefix(out, "verifying torrent 1: e2e-content") {
		t.Errorf("verify = %q", out)
	}
	d.waitState("1", engine.StateSeeding)

	code, out, errOut := d.cli("pause", "1", "99")
	if code != exitFailed || !strings.HasPrefix(out, "paused torrent 1") || errOut != "hearth: torrent 99 not found\n" {
		t.Errorf("pause 1 99 = exit %d, stdout %q, stderr %q; want 1, torrent 1 paused, one line about 99", code, out, errOut)
	}

	if out := d.mustCLI("rm", "--delete-data", "1"); out != "removed torrent 1 and its data: e2e-content\n" {
		t.Errorf("rm = %q", out)
	}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(downloads, "e2e-content", f)); !os.IsNotExist(err) {
			t.Errorf("%s after rm --delete-data: %v, want it gone", f, err)
		}
	}
	if out := d.mustCLI("ls"); !strings.HasPrefix(out, "no torrents") {
		t.Errorf("ls after rm = %q", out)
	}

	vout, err := exec.Command(hearthBinary(t), "version").Output()
	if err != nil || !strings.HasPrefix(string(vout), "hearth e2e-test (commit e2ecommit)\n") {
		t.Errorf("hearth version = %q, %v; want the -ldflags values", vout, err)
	}

	d.stop()
	logs := d.logs.String()
	for _, want := range []string{"hearth started", "version=e2e-test", "listen=" + d.api[len("http://"):], "dataDir=" + dir, "profile=desktop", "shutting down", "msg=request"} {
		if !strings.Contains(logs, want) {
			t.Errorf("daemon log lacks %q", want)
		}
	}

	// Settings saved through the API survive a restart.
	d2 := startDaemonProc(t, dir)
	out = d2.mustCLI("config")
	if !hasRow(out, "queue.max_seeds", "4", "api saved setting") || !hasRow(out, "limits.download_kbps", "1000", "api saved setting") {
		t.Errorf("config after restart does not keep the saved settings:\n%s", out)
	}
	d2.stop()
}

// hasRow reports whether a KEY VALUE SOURCE table has the row.
func hasRow(table, key, value, source string) bool {
	for _, l := range strings.Split(table, "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && f[0] == key && f[1] == value && strings.Join(f[2:], " ") == source {
			return true
		}
	}
	return false
}

// TestServeSecondInstance checks that a second daemon on the same data dir
// fails clearly instead of corrupting the first one's state.
func TestServeSecondInstance(t *testing.T) {
	dir := t.TempDir()
	startDaemonProc(t, dir)
	cmd := exec.Command(hearthBinary(t), "serve", "--data-dir", dir, "--listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--peer-port", "0")
	cmd.Env = daemonEnv(dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFailed || !strings.Contains(string(out), "hearth: open state store") {
		t.Errorf("second hearth serve on the same data dir = %v\n%s\nwant exit 1 and a store error", err, out)
	}
}

// TestServeGoMemory checks that the daemon runs with its profile's Go
// memory settings, and that GOGC set by the operator wins over the profile.
func TestServeGoMemory(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"router", []string{"HEARTH_PROFILE=router"}, "memLimitMiB=40 gcPercent=50"},
		{"router GOGC", []string{"HEARTH_PROFILE=router", "GOGC=80"}, "memLimitMiB=40 gcPercent=80"},
		{"desktop", []string{"HEARTH_PROFILE=desktop"}, "memLimitMiB=-1 gcPercent=100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := startDaemonProc(t, t.TempDir(), tt.env...)
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(d.logs.String(), "hearth started") && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if logs := d.logs.String(); !strings.Contains(logs, tt.want) {
				t.Errorf("daemon log does not say %q:\n%s", tt.want, logs)
			}
		})
	}
}
