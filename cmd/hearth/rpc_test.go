package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/engine/enginetest/peers"
)

// These tests drive a real "hearth serve" with Debian's transmission-remote
// (transmission-cli 3.00), the way a user of a Transmission daemon would.
// Everything is on loopback: the daemon has no DHT, no trackers, and the
// .torrent served for the URL add comes from an httptest server.

// remote runs transmission-remote against a daemon.
type remote struct {
	t    *testing.T
	addr string // host:port of the API
	auth string // user:password for -n, if any
}

func newRemote(t *testing.T, d *daemonProc) *remote {
	t.Helper()
	peers.Require(t, "transmission-remote")
	return &remote{t: t, addr: strings.TrimPrefix(d.api, "http://")}
}

// remoteEnv is the environment for transmission-remote: curl must not
// send anything through a proxy, or read the user's .netrc.
func remoteEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasSuffix(strings.ToLower(k), "_proxy") || k == "HOME" || k == "TR_AUTH" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home)
}

// run runs transmission-remote with args and returns its output and error.
func (r *remote) run(args ...string) (string, error) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	full := []string{r.addr}
	if r.auth != "" {
		full = append(full, "-n", r.auth)
	}
	cmd := exec.CommandContext(ctx, "transmission-remote", append(full, args...)...)
	cmd.Env = remoteEnv(r.t.TempDir())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// ok runs a command that must succeed and returns its output.
func (r *remote) ok(args ...string) string {
	r.t.Helper()
	out, err := r.run(args...)
	if err != nil {
		r.t.Fatalf("transmission-remote %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// success runs an action that must answer "success".
func (r *remote) success(args ...string) {
	r.t.Helper()
	if out := r.ok(args...); !strings.Contains(out, `responded: "success"`) {
		r.t.Fatalf("transmission-remote %s: %s, want success", strings.Join(args, " "), out)
	}
}

// torrents reads the daemon's torrents through its JSON API.
func apiTorrents(t *testing.T, d *daemonProc) []engine.Torrent {
	t.Helper()
	var body struct {
		Torrents []engine.Torrent `json:"torrents"`
	}
	apiGet(t, d, "/api/v1/torrents", &body)
	return body.Torrents
}

func apiGet(t *testing.T, d *daemonProc, path string, out any) {
	t.Helper()
	resp, err := http.Get(d.api + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func apiTorrent(t *testing.T, d *daemonProc, id int64) engine.Torrent {
	t.Helper()
	var x engine.Torrent
	apiGet(t, d, fmt.Sprintf("/api/v1/torrents/%d", id), &x)
	return x
}

// byName finds a torrent by name.
func byName(t *testing.T, d *daemonProc, name string) engine.Torrent {
	t.Helper()
	for _, x := range apiTorrents(t, d) {
		if x.Name == name {
			return x
		}
	}
	t.Fatalf("no torrent named %q", name)
	return engine.Torrent{}
}

// waitList polls "transmission-remote -l" until the torrent's line matches.
func (r *remote) waitList(name string, re *regexp.Regexp) string {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second) // catches hangs; not a speed goal
	var line string
	for time.Now().Before(deadline) {
		for l := range strings.SplitSeq(r.ok("-l"), "\n") {
			if strings.HasSuffix(l, "  "+name) {
				line = l
				if re.MatchString(l) {
					return l
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.t.Fatalf("-l: line of %q = %q, want it to match %s", name, line, re)
	return ""
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestTransmissionRemote(t *testing.T) {
	dataDir := t.TempDir()
	d := startDaemonProc(t, dataDir)
	tr := newRemote(t, d)

	// Add a .torrent file whose data is already in its folder: it seeds.
	files := []enginetest.File{{Path: "one.bin", Size: 200 << 10}, {Path: "sub/two.bin", Size: 100 << 10}, {Path: "three.txt", Size: 3000}}
	album := enginetest.MakeTorrent(t, t.TempDir(), "album", 32<<10, files)
	tfile := filepath.Join(t.TempDir(), "album.torrent")
	writeFile(t, tfile, album.Metainfo)
	tr.success("-a", tfile, "-w", album.Dir)
	line := tr.waitList("album", regexp.MustCompile(`100%.*Idle`))
	a := byName(t, d, "album")
	if !strings.HasPrefix(strings.TrimSpace(line), fmt.Sprint(a.ID)) {
		t.Errorf("-l line %q does not start with the id %d", line, a.ID)
	}
	id := fmt.Sprint(a.ID)

	info := tr.ok("-t", id, "-i")
	for _, want := range []string{"Name: album", "Hash: " + album.InfoHash, "Location: " + album.Dir, "Percent Done: 100%", "Total size: ", "Piece Count: 10"} {
		if !strings.Contains(info, want) {
			t.Errorf("-i: %q missing in\n%s", want, info)
		}
	}
	// -if lists files in the torrent's order: one.bin, sub/two.bin, three.txt
	// sorted by path → one.bin, sub/two.bin, three.txt.
	filesOut := tr.ok("-t", id, "-if")
	for i, f := range a.Files {
		if !regexp.MustCompile(fmt.Sprintf(`(?m)^\s*%d: 100%% Normal\s+Yes .*album/%s$`, i, regexp.QuoteMeta(f.Path))).MatchString(filesOut) {
			t.Errorf("-if: no line for file %d %s in\n%s", i, f.Path, filesOut)
		}
	}
	// -G / -g: not wanted, wanted again.
	tr.success("-t", id, "-G", "1")
	if x := apiTorrent(t, d, a.ID); x.Files[1].Wanted || !x.Files[0].Wanted {
		t.Errorf("after -G 1: wanted %v %v, want file 1 only unwanted", x.Files[0].Wanted, x.Files[1].Wanted)
	}
	if !regexp.MustCompile(`(?m)^\s*1: .*\sNo\s`).MatchString(tr.ok("-t", id, "-if")) {
		t.Errorf("-if after -G 1 does not show file 1 unwanted")
	}
	tr.success("-t", id, "-g", "1")
	if x := apiTorrent(t, d, a.ID); !x.Files[1].Wanted {
		t.Errorf("after -g 1 file 1 is still unwanted")
	}

	// -S / -s.
	tr.success("-t", id, "-S")
	tr.waitList("album", regexp.MustCompile(`Stopped`))
	if x := apiTorrent(t, d, a.ID); x.State != engine.StateStopped {
		t.Errorf("after -S: state %s", x.State)
	}
	tr.success("-t", id, "-s")
	tr.waitList("album", regexp.MustCompile(`100%.*Idle`))

	// Per-torrent and global limits.
	tr.success("-t", id, "-d", "100", "-u", "40")
	if x := apiTorrent(t, d, a.ID); x.Options.DownloadKBps != 100 || x.Options.UploadKBps != 40 {
		t.Errorf("after -t -d 100 -u 40: %+v", x.Options)
	}
	info = tr.ok("-t", id, "-i")
	if !strings.Contains(info, "Download Limit: 100 kB/s") || !strings.Contains(info, "Upload Limit: 40 kB/s") {
		t.Errorf("-i after limits:\n%s", info)
	}
	tr.success("-t", id, "-D")
	if x := apiTorrent(t, d, a.ID); x.Options.DownloadKBps != 0 || x.Options.UploadKBps != 40 {
		t.Errorf("after -D: %+v", x.Options)
	}
	tr.success("-d", "200", "-u", "300")
	var s engine.Settings
	apiGet(t, d, "/api/v1/settings", &s)
	if s.DownloadKBps != 200 || s.UploadKBps != 300 {
		t.Errorf("after global -d 200 -u 300: %d/%d KB/s", s.DownloadKBps, s.UploadKBps)
	}
	si := tr.ok("-si")
	for _, want := range []string{"Daemon version: 4.0.0 (hearth e2e-test)", "RPC version: 17", "Download speed limit: 200 kB/s (Enabled limit: 200 kB/s", "Upload speed limit: 300 kB/s", "Download directory: "} {
		if !strings.Contains(si, want) {
			t.Errorf("-si: %q missing in\n%s", want, si)
		}
	}

	// Alternative speed limits and their schedule.
	tr.success("-as", "-asd", "30", "-asu", "20")
	apiGet(t, d, "/api/v1/settings", &s)
	if !s.AltEnabled || s.AltDownloadKBps != 30 || s.AltUploadKBps != 20 {
		t.Errorf("after -as: %+v", s)
	}
	if si = tr.ok("-si"); !strings.Contains(si, "Download speed limit: 30 kB/s") || !strings.Contains(si, "Enabled turtle limit: 30 kB/s") {
		t.Errorf("-si with turtle on:\n%s", si)
	}
	tr.success("-AS")
	// A window that starts 3 hours from now and lasts 1: the scheduler must
	// not switch turtle mode on while the test runs, or the limits checked
	// after the restart depend on the time of day (a fixed 01:30-07:15
	// failed every weekday night).
	begin := time.Now().Add(3 * time.Hour)
	b, e := begin.Format("15")+"30", begin.Add(time.Hour).Format("15")+"30"
	tr.success("--alt-speed-scheduler", "--alt-speed-time-begin", b, "--alt-speed-time-end", e, "--alt-speed-days", "1-5")
	apiGet(t, d, "/api/v1/settings", &s)
	if !s.AltScheduled || s.AltBegin != b[:2]+":30" || s.AltEnd != e[:2]+":30" || s.AltDays != "weekdays" {
		t.Errorf("after the scheduler options: %+v", s)
	}
	if want := "Turtle schedule: " + b[:2] + ":30 - " + e[:2] + ":30  Mon Tue Wed Thu Fri"; !strings.Contains(tr.ok("-si"), want) {
		t.Errorf("-si schedule: %q missing", want)
	}
	tr.success("--no-alt-speed-scheduler")

	// Settings and ids survive a restart.
	d.stop()
	d = startDaemonProc(t, dataDir)
	tr = newRemote(t, d)
	si = tr.ok("-si")
	for _, want := range []string{"Download speed limit: 200 kB/s (Enabled limit: 200 kB/s; Disabled turtle limit: 30 kB/s)", "Upload speed limit: 300 kB/s"} {
		if !strings.Contains(si, want) {
			t.Errorf("-si after a restart: %q missing in\n%s", want, si)
		}
	}
	if line := tr.waitList("album", regexp.MustCompile(`100%.*Idle`)); !strings.HasPrefix(strings.TrimSpace(line), id+" ") {
		t.Errorf("after a restart the album's line is %q, want id %s", line, id)
	}

	// A magnet link (no peers anywhere: it waits for metadata).
	magnet := "magnet:?xt=urn:btih:" + strings.Repeat("5a", 20) + "&dn=by-magnet"
	tr.success("-a", magnet)
	tr.waitList("by-magnet", regexp.MustCompile(`n/a`))

	// A URL, fetched by the daemon from a loopback web server.
	url := enginetest.MakeTorrent(t, t.TempDir(), "from-url", 32<<10, files[:2])
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(url.Metainfo) }))
	defer web.Close()
	tr.success("-a", web.URL+"/from-url.torrent", "-w", url.Dir)
	tr.waitList("from-url", regexp.MustCompile(`100%.*Idle`))

	// -r keeps the data, --remove-and-delete deletes it.
	m := byName(t, d, "by-magnet")
	tr.success("-t", fmt.Sprint(m.ID), "-r")
	u := byName(t, d, "from-url")
	tr.success("-t", fmt.Sprint(u.ID), "--remove-and-delete")
	if _, err := os.Stat(filepath.Join(url.Dir, "from-url")); !os.IsNotExist(err) {
		t.Errorf("--remove-and-delete left the data (err %v)", err)
	}
	tr.success("-t", id, "-r")
	if _, err := os.Stat(filepath.Join(album.Dir, "album", "one.bin")); err != nil {
		t.Errorf("-r deleted the data: %v", err)
	}
	if n := len(apiTorrents(t, d)); n != 0 {
		t.Errorf("%d torrents left after removing all three", n)
	}
	list := tr.ok("-l")
	if strings.Contains(list, "album") || strings.Contains(list, "by-magnet") {
		t.Errorf("-l after removal:\n%s", list)
	}
	st := tr.ok("-st")
	for _, want := range []string{"CURRENT SESSION", "TOTAL", "Started 2 times"} {
		if !strings.Contains(st, want) {
			t.Errorf("-st: %q missing in\n%s", want, st)
		}
	}

	// Errors reach the user as Transmission's do.
	if out, err := tr.run("-t", "999", "-S"); err == nil || !strings.Contains(out, "torrent 999 not found") {
		t.Errorf("-t 999 -S: %v %q, want an error naming torrent 999", err, out)
	}
	if out, err := tr.run("-pt"); err == nil || !strings.Contains(out, "not supported") {
		t.Errorf("-pt: %v %q, want an honest error", err, out)
	}
	if out, err := tr.run("--blocklist-update"); err == nil || !strings.Contains(out, "not supported") {
		t.Errorf("--blocklist-update: %v %q", err, out)
	}
}

// TestRPCHandshakeAndHost: what curl or a hostile web page would see.
func TestRPCHandshakeAndHost(t *testing.T) {
	d := startDaemonProc(t, t.TempDir())
	post := func(host, sid string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, d.api+"/transmission/rpc", strings.NewReader(`{"method":"session-get"}`))
		if err != nil {
			t.Fatal(err)
		}
		if host != "" {
			req.Host = host
		}
		if sid != "" {
			req.Header.Set("X-Transmission-Session-Id", sid)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := post("", "")
	sid := resp.Header.Get("X-Transmission-Session-Id")
	if resp.StatusCode != http.StatusConflict || sid == "" || !strings.Contains(body, "<code>X-Transmission-Session-Id: "+sid+"</code>") {
		t.Fatalf("no session id: %d %q %s, want 409 with the id", resp.StatusCode, sid, body)
	}
	if resp, body := post("", sid); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"result":"success"`) {
		t.Fatalf("with the id: %d %s", resp.StatusCode, body)
	}
	// DNS rebinding: a name the device does not answer to is refused before
	// the handshake, with or without the id.
	for _, id := range []string{"", sid} {
		if resp, body := post("evil.example:9091", id); resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("Host evil.example (id %q): %d %s, want 421", id, resp.StatusCode, body)
		}
	}
	if resp, _ := post("localhost", sid); resp.StatusCode != http.StatusOK {
		t.Errorf("Host localhost: %d, want 200", resp.StatusCode)
	}
}

// TestTransmissionRemoteAuth: with loopback not trusted, the RPC wants the
// password hearth passwd set, as Transmission's rpc-authentication does.
func TestTransmissionRemoteAuth(t *testing.T) {
	d := startDaemonProc(t, t.TempDir(), "HEARTH_ACCESS_TRUST_LOOPBACK=false")
	tr := newRemote(t, d)
	if code, _, errOut := runHearthIn(t, "s3cret pass\n", "passwd", "--stdin", "--api", d.api); code != exitOK {
		t.Fatalf("hearth passwd = exit %d, %s", code, errOut)
	}
	for _, auth := range []string{"", "admin:wrong password", "nobody:s3cret pass"} {
		tr.auth = auth
		if out, err := tr.run("-l"); err == nil || !strings.Contains(out, "Unexpected response") {
			t.Errorf("-l with auth %q: %v %q, want refused", auth, err, out)
		}
	}
	tr.auth = "admin:s3cret pass"
	if out := tr.ok("-l"); !strings.Contains(out, "Sum:") {
		t.Errorf("-l with the password:\n%s", out)
	}
	tr.success("-as")
	// The refusal is a 401 asking for Basic auth, as Transmission's.
	req, _ := http.NewRequest(http.MethodPost, d.api+"/transmission/rpc", strings.NewReader(`{"method":"session-get"}`))
	req.SetBasicAuth("admin", "wrong password")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("wrong password: %d %q, want 401 with a Basic challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}
