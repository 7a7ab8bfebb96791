// Package firmware holds the checks of Hearth's device builds: the
// cross-compiled binaries run under qemu-user (this file, make qemu-test)
// and the size tool (binsize).
package firmware

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine/enginetest"
)

// The emulated devices: each cross-compiled binary runs under Debian's
// qemu-user-static, called explicitly (no binfmt_misc needed), against a
// native amd64 daemon on loopback. Only loopback is used; DHT, UPnP, IPv6,
// mDNS and LAN channel hints are off.
var devices = []struct {
	name    string
	env     []string // GOARCH and its variant for scripts/build.sh
	qemu    string
	goarch  string
	profile string
	backend string // the store the daemon must pick by itself
}{
	{"armv7", []string{"GOARCH=arm", "GOARM=7"}, "qemu-arm-static", "arm", "router", "bbolt"},
	{"arm64", []string{"GOARCH=arm64"}, "qemu-aarch64-static", "arm64", "nas", "badger"},
	{"mipsle", []string{"GOARCH=mipsle", "GOMIPS=softfloat"}, "qemu-mipsel-static", "mipsle", "router", "bbolt"},
}

// TestQemuDevices builds the device binaries, starts each under qemu-user,
// checks its API, store backend and a transfer in both directions with a
// native daemon, and logs its peak RSS. It runs when HEARTH_TEST_QEMU=1
// (make qemu-test, scripts/test.sh); a missing qemu then fails the test.
func TestQemuDevices(t *testing.T) {
	if os.Getenv("HEARTH_TEST_QEMU") != "1" {
		t.Skip("the qemu-user tests run with HEARTH_TEST_QEMU=1 (make qemu-test, part of make test)")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Fatalf("qemu tests need a linux/amd64 host, this is %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	for _, d := range devices {
		if _, err := exec.LookPath(d.qemu); err != nil {
			t.Fatalf("%s not found: install Debian's qemu-user-static (scripts/test-deps.sh does)", d.qemu)
		}
	}
	bins := binDir
	start := time.Now()
	native := build(t, bins, "amd64", []string{"GOARCH=amd64"})
	for _, d := range devices {
		build(t, bins, d.name, d.env)
	}
	t.Logf("built amd64 and %d device binaries in %v", len(devices), time.Since(start).Round(time.Millisecond))
	var rss []string
	for _, d := range devices {
		t.Run(d.name, func(t *testing.T) {
			bin := build(t, bins, d.name, d.env)
			checkVersion(t, exec.Command(d.qemu, bin, "version", "--json"), d.goarch, d.backend)

			dev := startDaemon(t, []string{d.qemu, bin}, d.profile, "")
			host := startDaemon(t, []string{native}, "desktop", "")
			var v struct {
				Arch     string   `json:"arch"`
				Backends []string `json:"storeBackends"`
			}
			dev.getJSON(t, "/api/v1/version", &v)
			if v.Arch != d.goarch {
				t.Fatalf("GET /api/v1/version arch = %q, want %q", v.Arch, d.goarch)
			}
			var stats map[string]any
			dev.getJSON(t, "/api/v1/stats", &stats)
			if got := storeBackend(t, dev.dataDir); got != d.backend {
				t.Fatalf("store files in %s are %s's, want %s's", dev.dataDir, got, d.backend)
			}

			src := t.TempDir()
			// Device → host, then host → device, each a torrent of its own.
			up := enginetest.MakeTorrent(t, src, "from-"+d.name, 256<<10,
				[]enginetest.File{{Path: "video.bin", Size: 3 << 20}, {Path: "photos/a.jpg", Size: 700 << 10}})
			down := enginetest.MakeTorrent(t, src, "to-"+d.name, 256<<10,
				[]enginetest.File{{Path: "song.flac", Size: 4<<20 + 12345}})
			transfer(t, native, up, dev, host)
			transfer(t, native, down, host, dev)

			devHWM := dev.vmHWM(t)
			hostHWM := host.vmHWM(t)
			dev.stop(t)
			host.stop(t)

			// The device's state store must hold both torrents, complete,
			// after a restart (Badger lost everything on 32-bit).
			again := startDaemon(t, []string{d.qemu, bin}, d.profile, dev.dataDir)
			again.waitComplete(t, up.InfoHash, "the seeded torrent after a restart")
			again.waitComplete(t, down.InfoHash, "the downloaded torrent after a restart")
			again.stop(t)
			line := fmt.Sprintf("qemu-rss %-7s %-7s store %-6s peak RSS %5.1f MiB (qemu-%s process, qemu included); amd64 peer %5.1f MiB",
				d.name, d.profile, d.backend, float64(devHWM)/1024, strings.TrimSuffix(strings.TrimPrefix(d.qemu, "qemu-"), "-static"), float64(hostHWM)/1024)
			t.Log(line)
			rss = append(rss, line)
		})
	}
	if out := os.Getenv("HEARTH_QEMU_REPORT"); out != "" {
		if err := os.WriteFile(out, []byte(strings.Join(rss, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var buildMu sync.Mutex

// build makes the shipped binary (scripts/build.sh: static, stripped,
// trimpath) for one target.
func build(t *testing.T, dir, name string, env []string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	out := filepath.Join(dir, "hearth-"+name)
	if _, err := os.Stat(out); err == nil {
		return out
	}
	cmd := exec.Command("../scripts/build.sh", out)
	cmd.Env = append(os.Environ(), append([]string{"GOOS=linux", "HEARTH_VERSION=qemu-test"}, env...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/build.sh %s: %v\n%s", name, err, b)
	}
	return out
}

// checkVersion runs "hearth version --json" and checks the platform and
// the store backends compiled in.
func checkVersion(t *testing.T, cmd *exec.Cmd, goarch, backend string) {
	t.Helper()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(cmd.Args, " "), err)
	}
	var v struct {
		Version  string   `json:"version"`
		Arch     string   `json:"arch"`
		Backends []string `json:"storeBackends"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("hearth version --json: %v\n%s", err, out)
	}
	if v.Arch != goarch || v.Version != "qemu-test" {
		t.Fatalf("hearth version under qemu = arch %q version %q, want %q and qemu-test", v.Arch, v.Version, goarch)
	}
	if !slices.Contains(v.Backends, backend) {
		t.Fatalf("hearth version backends = %v, want %s among them", v.Backends, backend)
	}
	if goarch != "arm64" && slices.Contains(v.Backends, "badger") {
		t.Fatalf("32-bit build links badger (backends %v): it is broken on 32-bit", v.Backends)
	}
}

// storeBackend names the backend whose files the daemon created.
func storeBackend(t *testing.T, dataDir string) string {
	t.Helper()
	dir := filepath.Join(dataDir, "state")
	_, errBolt := os.Stat(filepath.Join(dir, "state.db"))
	_, errBadger := os.Stat(filepath.Join(dir, "MANIFEST"))
	switch {
	case errBolt == nil && errBadger == nil:
		return "both"
	case errBolt == nil:
		return "bbolt"
	case errBadger == nil:
		return "badger"
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return fmt.Sprintf("no known store (files %v)", names)
}

// transfer adds tt on both daemons: from has the data, to gets it from
// from's peer port, and the files must arrive byte for byte.
func transfer(t *testing.T, cli string, tt *enginetest.Torrent, from, to *daemon) {
	t.Helper()
	file := filepath.Join(t.TempDir(), tt.Name+".torrent")
	if err := os.WriteFile(file, tt.Metainfo, 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	from.cli(t, cli, "add", "--json", "--dir", tt.Dir, file)
	from.waitComplete(t, tt.InfoHash, "seeder to verify its data")
	verified := time.Now()
	dest := t.TempDir()
	to.cli(t, cli, "add", "--json", "--dir", dest, "--peer", "127.0.0.1:"+strconv.Itoa(from.peerPort), file)
	to.waitComplete(t, tt.InfoHash, "download from "+from.name)
	enginetest.SameFiles(t, tt, dest)
	t.Logf("%s → %s: %s verified by the seeder in %v, downloaded in %v", from.name, to.name, tt.Name,
		verified.Sub(start).Round(time.Millisecond), time.Since(verified).Round(time.Millisecond))
}

type daemon struct {
	name     string
	cmd      *exec.Cmd
	api      string
	peerPort int
	dataDir  string
	logs     *lockedBuffer
	done     chan error
}

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

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startDaemon runs "argv... serve" on dataDir ("" = a fresh one) with
// loopback-only networking and waits until its API answers.
func startDaemon(t *testing.T, argv []string, profile, dataDir string) *daemon {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	listen := "127.0.0.1:" + strconv.Itoa(freePort(t))
	peerPort := freePort(t)
	args := append(argv[1:], "serve", "--data-dir", dataDir, "--listen", listen,
		"--peer-port", strconv.Itoa(peerPort), "--profile", profile)
	cmd := exec.Command(argv[0], args...)
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "HEARTH_") || strings.HasPrefix(kv, "TORRENT_") ||
			strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "XDG_") {
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = append(env, "HOME="+dataDir,
		"HEARTH_TORRENT_DHT=false", "HEARTH_TORRENT_PORT_FORWARDING=false", "HEARTH_TORRENT_IPV6=false",
		"HEARTH_DEVICE_MDNS=false", "HEARTH_CHANNELS_LAN=false",
		// The daemon re-executes itself to get classic file IO
		// (cmd/hearth/fileio.go). Under qemu-user that execve would
		// start a foreign binary, which needs binfmt_misc; the device
		// runs it natively. Start with the variable set instead.
		"TORRENT_STORAGE_DEFAULT_FILE_IO=classic")
	name := filepath.Base(argv[len(argv)-1])
	d := &daemon{name: name, cmd: cmd, api: "http://" + listen, peerPort: peerPort, dataDir: dataDir,
		logs: &lockedBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = d.logs, d.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", strings.Join(argv, " "), err)
	}
	go func() { d.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", name, d.logs.String())
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-d.done:
			d.done <- err
			t.Fatalf("%s serve exited: %v\n%s", name, err, d.logs.String())
		default:
		}
		resp, err := http.Get(d.api + "/api/v1/version")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s serve did not answer on %s within 90 s", name, d.api)
	return nil
}

func (d *daemon) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := http.Get(d.api + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %s, want 200: %s", path, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
}

// cli runs a client command of the native binary against the daemon.
func (d *daemon) cli(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, "--api", d.api)...)
	cmd.Env = append(os.Environ(), "HOME="+d.dataDir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("hearth %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// waitComplete polls the torrent until every wanted byte is verified. The
// timeout catches hangs; it measures nothing.
func (d *daemon) waitComplete(t *testing.T, infoHash, what string) {
	t.Helper()
	var tt struct {
		State      string `json:"state"`
		Error      string `json:"error"`
		Done       int64  `json:"done"`
		WantedSize int64  `json:"wantedSize"`
		Peers      int    `json:"peers"`
	}
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		d.getJSON(t, "/api/v1/torrents/"+infoHash, &tt)
		if tt.Error != "" {
			t.Fatalf("%s: torrent %s error %q while waiting for %s", d.name, infoHash, tt.Error, what)
		}
		if tt.WantedSize > 0 && tt.Done == tt.WantedSize {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: timed out waiting for %s: state %s, %d/%d bytes, %d peers", d.name, what, tt.State, tt.Done, tt.WantedSize, tt.Peers)
}

// vmHWM reads the process's peak resident set (KiB). Under qemu-user it is
// the qemu process: the emulator's own memory is included.
func (d *daemon) vmHWM(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kib
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", d.cmd.Process.Pid)
	return 0
}

// stop sends SIGTERM (qemu passes it to the guest) and wants exit 0.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("signal %s: %v", d.name, err)
	}
	select {
	case err := <-d.done:
		if err != nil {
			t.Fatalf("%s after SIGTERM: %v, want exit 0", d.name, err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not stop within 30 s of SIGTERM", d.name)
	}
}
