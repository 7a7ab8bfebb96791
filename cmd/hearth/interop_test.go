package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest/netns"
	"github.com/hearth-media/hearth/engine/enginetest/peers"
	"github.com/hearth-media/hearth/engine/enginetest/tracker"
)

// The interop tests run the real hearth binary against Debian's
// transmission-daemon 3.00, as a user would: "hearth serve" and the client
// commands started as processes. Transmission refuses peers at 127.x that a
// tracker gives it, so each side lives in its own network namespace,
// joined by a veth pair, with a test tracker in namespace A: no packet
// leaves the machine. Each test has fresh namespaces, so every peer has a
// fresh ip:port (transmission shuns a peer that reconnects from the same
// one soon after).

// interopFiles is a ~16 MiB multi-file layout whose sizes cross the 256 KiB
// piece boundaries.
var interopFiles = []peers.File{
	{Path: "a.bin", Size: 6<<20 + 12345},
	{Path: "sub/b.bin", Size: 8 << 20},
	{Path: "sub/deeper/c.bin", Size: 2<<20 - 7},
	{Path: "tiny.txt", Size: 1},
}

// interopTimeout bounds each test's waiting on peers. It catches hangs; it
// is not a speed goal (a test takes 15-30 s, mostly transmission's 10 s
// rechoke round).
const interopTimeout = 90 * time.Second

// requireInterop fails (HEARTH_TEST_REQUIRE_NETNS=1, HEARTH_TEST_REQUIRE_PEERS=1)
// or skips the test when namespaces or transmission-daemon are missing.
func requireInterop(t *testing.T) {
	t.Helper()
	netns.Require(t)
	peers.Require(t, "transmission-daemon")
}

// swarmNS is two namespaces joined by a veth pair, with a tracker in A.
type swarmNS struct {
	a, b     *netns.NS
	announce string
}

func newSwarmNS(t *testing.T) *swarmNS {
	t.Helper()
	s := &swarmNS{a: netns.New(t, "A"), b: netns.New(t, "B")}
	addrA, _ := netns.Link(t, s.a, s.b, "")
	l, err := s.a.Listen("tcp4", netip.AddrPortFrom(addrA, 0).String())
	if err != nil {
		t.Fatalf("tracker listener in %s: %v", s.a, err)
	}
	tr := tracker.New()
	tr.Interval = 2 * time.Second
	done := make(chan error, 1)
	go func() { done <- tr.Serve(l) }()
	t.Cleanup(func() {
		l.Close()
		if err := <-done; err != nil {
			t.Errorf("tracker.Serve: %v", err)
		}
	})
	s.announce = fmt.Sprintf("http://%s/announce", l.Addr())
	return s
}

// freePortIn returns a TCP port nothing listens on inside ns.
func freePortIn(t *testing.T, ns *netns.NS) int {
	t.Helper()
	l, err := ns.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatalf("pick a free port in %s: %v", ns, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// nsDaemon is "hearth serve" running inside a namespace.
type nsDaemon struct {
	t        *testing.T
	ns       *netns.NS
	cmd      *exec.Cmd
	dataDir  string
	api      string
	peerPort int
	logPath  string
	done     chan error
	env      []string
}

// interopEnv is daemonEnv (no DHT, no UPnP, no IPv6, none of the user's
// HEARTH_* settings) without proxy settings.
func interopEnv(home string) []string {
	var env []string
	for _, kv := range daemonEnv(home) {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasSuffix(strings.ToLower(k), "_proxy") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// startNSDaemon runs hearth serve inside ns with a fresh data dir, API port
// and peer port, and waits until its API answers.
func startNSDaemon(t *testing.T, ns *netns.NS) *nsDaemon {
	t.Helper()
	bin := hearthBinary(t)
	dir := t.TempDir()
	d := &nsDaemon{
		t: t, ns: ns, dataDir: filepath.Join(dir, "data"), logPath: filepath.Join(dir, "hearth.log"),
		peerPort: freePortIn(t, ns), done: make(chan error, 1), env: interopEnv(dir),
	}
	apiPort := freePortIn(t, ns)
	for apiPort == d.peerPort {
		apiPort = freePortIn(t, ns)
	}
	d.api = "http://127.0.0.1:" + strconv.Itoa(apiPort)
	d.cmd = ns.Command(context.Background(), bin, "serve", "--data-dir", d.dataDir,
		"--listen", "127.0.0.1:"+strconv.Itoa(apiPort), "--peer-port", strconv.Itoa(d.peerPort))
	d.cmd.Env = d.env
	lf, err := os.Create(d.logPath)
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stdout, d.cmd.Stderr = lf, lf
	if err := d.cmd.Start(); err != nil {
		lf.Close()
		t.Fatalf("start hearth serve in %s: %v", ns, err)
	}
	lf.Close()
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			t.Logf("hearth serve in %s, log tail (API requests left out):\n%s", ns, logTail(d.logPath, 60))
		}
	})

	hc := &http.Client{Transport: &http.Transport{DialContext: ns.DialContext, DisableKeepAlives: true, Proxy: nil}, Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-d.done:
			d.done <- err
			t.Fatalf("hearth serve in %s exited: %v\n%s", ns, err, logTail(d.logPath, 40))
		default:
		}
		resp, err := hc.Get(d.api + "/api/v1/version")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("hearth serve in %s did not answer on %s within 30 s\n%s", ns, d.api, logTail(d.logPath, 40))
	return nil
}

// cli runs the hearth binary as a client command inside the daemon's
// namespace, with --api pointing at the daemon.
func (d *nsDaemon) cli(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	d.t.Helper()
	args = append(args[:1:1], append([]string{"--api", d.api}, args[1:]...)...)
	cmd := d.ns.Command(ctx, hearthBinary(d.t), args...)
	cmd.Env = d.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		d.t.Fatalf("run hearth %s in %s: %v", strings.Join(args, " "), d.ns, err)
	}
	return code, out.String(), errb.String()
}

// mustCLI runs a client command that must exit 0.
func (d *nsDaemon) mustCLI(ctx context.Context, args ...string) string {
	d.t.Helper()
	code, out, errOut := d.cli(ctx, args...)
	if code != 0 {
		d.t.Fatalf("hearth %s = exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// list is "hearth ls --json".
func (d *nsDaemon) list(ctx context.Context) []engine.Torrent {
	d.t.Helper()
	var l struct{ Torrents []engine.Torrent }
	out := d.mustCLI(ctx, "ls", "--json")
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		d.t.Fatalf("hearth ls --json: %v\n%s", err, out)
	}
	return l.Torrents
}

// stop reads the daemon's peak RSS, then sends SIGTERM and expects a clean
// exit.
func (d *nsDaemon) stop() (peakRSS int64) {
	d.t.Helper()
	peakRSS, err := peers.VmHWM(d.cmd.Process.Pid)
	if err != nil {
		d.t.Errorf("peak RSS of hearth serve: %v", err)
	}
	terminate(d.t, d.cmd.Process, d.done)
	return peakRSS
}

// info is "hearth info REF" for a failure message, with its own timeout
// (the test's context may be over).
func (d *nsDaemon) info(ref string) string {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, out, errOut := d.cli(ctx, "info", ref)
	return out + errOut
}

// logTail returns the last lines of a daemon log without the debug lines
// of API requests (the CLI's polling).
func logTail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var ls []string
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if !strings.Contains(l, " msg=request ") {
			ls = append(ls, l)
		}
	}
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}

// waitTorrent polls "hearth ls --json" until the torrent with infoHash
// satisfies ok, and fails the test with what it last saw when ctx ends.
// The engine refreshes its counters once a second, so a counter may lag
// the event that the test just saw.
func (d *nsDaemon) waitTorrent(ctx context.Context, infoHash, want string, ok func(engine.Torrent) bool) engine.Torrent {
	d.t.Helper()
	for {
		var last engine.Torrent
		found := false
		for _, tor := range d.list(ctx) {
			if tor.InfoHash == infoHash {
				last, found = tor, true
			}
		}
		if found && ok(last) {
			return last
		}
		select {
		case <-ctx.Done():
			d.t.Fatalf("hearth ls --json: torrent %s = %+v (found %v), want %s", infoHash, last, found, want)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// TestInteropTransmissionSeedsHearthLeeches: transmission-daemon in A seeds,
// hearth in B downloads through "hearth add --wait".
func TestInteropTransmissionSeedsHearthLeeches(t *testing.T) {
	requireInterop(t)
	t.Parallel()
	s := newSwarmNS(t)
	tor := peers.MakeTorrent(t, t.TempDir(), "interop-leech", s.announce, 0, interopFiles)
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()

	seeder := peers.StartTransmission(t, s.a, peers.TransmissionOptions{})
	if err := seeder.Add(ctx, tor.Path, tor.DataDir); err != nil {
		t.Fatal(err)
	}
	if err := seeder.WaitComplete(ctx, tor.InfoHash); err != nil {
		t.Fatalf("transmission check of the seed data: %v", err)
	}

	d := startNSDaemon(t, s.b)
	t0 := time.Now()
	code, out, errOut := d.cli(ctx, "add", "--wait", tor.Path)
	elapsed := time.Since(t0)
	if code != 0 {
		t.Logf("hearth info 1:\n%s", d.info("1"))
		t.Fatalf("hearth add --wait = exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.HasPrefix(out, "added torrent 1: "+tor.Name+"\n") {
		t.Errorf("hearth add --wait output does not start with the added line:\n%s", out)
	}
	// Without a terminal, --wait prints a plain line at each change of
	// state and every few seconds, the first right after adding: at least
	// one before the end.
	progress := 0
	for _, l := range strings.Split(out, "\n") {
		// "torrent 1 NAME: downloading 42% (7.1 MB of 16.8 MB), down 7.0 MB/s, up 0 B/s, 1 peers, ETA 1s"
		if strings.HasPrefix(l, "torrent 1 "+tor.Name+": ") && strings.Contains(l, " of "+humanSize(tor.Size)+"), down ") && strings.Contains(l, " peers") {
			progress++
		}
	}
	if progress == 0 {
		t.Errorf("hearth add --wait output has no progress line:\n%s", out)
	}
	wantEnd := fmt.Sprintf("torrent 1 %s: complete (%s)\n", tor.Name, humanSize(tor.Size))
	if !strings.HasSuffix(out, wantEnd) {
		t.Errorf("hearth add --wait output does not end with %q:\n%s", wantEnd, out)
	}
	if err := peers.SameTree(filepath.Join(tor.DataDir, tor.Name), filepath.Join(d.dataDir, "downloads", tor.Name)); err != nil {
		t.Errorf("downloaded data: %v", err)
	}
	d.waitTorrent(ctx, tor.InfoHash, fmt.Sprintf("seeding with %d bytes done and downloaded", tor.Size), func(got engine.Torrent) bool {
		return got.State == engine.StateSeeding && got.Done == tor.Size && got.Downloaded >= tor.Size
	})

	hearthRSS := d.stop()
	t.Logf("hearth leeched %d bytes from transmission in %v; hearth (leecher) peak RSS %d KiB, transmission (seeder) %d KiB",
		tor.Size, elapsed.Round(time.Millisecond), hearthRSS>>10, seeder.PeakRSS()>>10)
}

// TestInteropHearthSeedsTransmissionLeeches: hearth in A seeds data already
// in place (add --dir), transmission-daemon in B downloads it.
func TestInteropHearthSeedsTransmissionLeeches(t *testing.T) {
	requireInterop(t)
	t.Parallel()
	s := newSwarmNS(t)
	tor := peers.MakeTorrent(t, t.TempDir(), "interop-seed", s.announce, 0, interopFiles)
	ctx, cancel := context.WithTimeout(context.Background(), interopTimeout)
	defer cancel()

	d := startNSDaemon(t, s.a)
	// The data is already there: --wait returns once hearth verified it.
	out := d.mustCLI(ctx, "add", "--dir", tor.DataDir, "--wait", tor.Path)
	if wantEnd := fmt.Sprintf("torrent 1 %s: complete (%s)\n", tor.Name, humanSize(tor.Size)); !strings.HasSuffix(out, wantEnd) {
		t.Errorf("hearth add --dir --wait output does not end with %q:\n%s", wantEnd, out)
	}
	d.waitTorrent(ctx, tor.InfoHash, "seeding with nothing downloaded", func(got engine.Torrent) bool {
		return got.State == engine.StateSeeding && got.Done == tor.Size && got.Downloaded == 0
	})

	leecher := peers.StartTransmission(t, s.b, peers.TransmissionOptions{})
	out2 := filepath.Join(t.TempDir(), "out")
	t0 := time.Now()
	if err := leecher.Add(ctx, tor.Path, out2); err != nil {
		t.Fatal(err)
	}
	if err := leecher.WaitComplete(ctx, tor.InfoHash); err != nil {
		t.Logf("hearth info 1:\n%s", d.info("1"))
		t.Fatalf("transmission download from hearth: %v", err)
	}
	elapsed := time.Since(t0)
	if err := peers.SameTree(filepath.Join(tor.DataDir, tor.Name), filepath.Join(out2, tor.Name)); err != nil {
		t.Errorf("transmission's download: %v", err)
	}
	// Transmission got every byte from hearth, the only peer it knew.
	d.waitTorrent(ctx, tor.InfoHash, fmt.Sprintf("at least %d bytes uploaded", tor.Size), func(got engine.Torrent) bool {
		return got.Uploaded >= tor.Size
	})

	trRSS := leecher.PeakRSS()
	hearthRSS := d.stop()
	t.Logf("transmission leeched %d bytes from hearth in %v; transmission (leecher) peak RSS %d KiB, hearth (seeder) %d KiB",
		tor.Size, elapsed.Round(time.Millisecond), trRSS>>10, hearthRSS>>10)
}
