package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/hearth-media/hearth/engine"
)

// TestWebSeedEndToEnd: through the real binary, with loopback not
// trusted: a published channel is shared; a stranger fetches the share's
// .torrent without credentials; aria2c, given only that file (no DHT,
// PEX, LPD, tracker), downloads every file from the daemon's web seed;
// a second daemon with no peer at all does the same with "hearth add".
func TestWebSeedEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two daemons")
	}
	// No mDNS: the devices must not find each other as peers.
	alone := []string{"HEARTH_DEVICE_MDNS=false", "HEARTH_CHANNELS_LAN=false"}
	pub := startDaemonProc(t, t.TempDir(), append(alone, "HEARTH_ACCESS_TRUST_LOOPBACK=false")...)
	if code, _, errOut := runHearthIn(t, "s3cret pass\n", "passwd", "--stdin", "--api", pub.api); code != exitOK {
		t.Fatalf("passwd = %d %s", code, errOut)
	}
	src := t.TempDir()
	files := map[string]int{
		"summer/IMG 0001.jpg":         300_000,
		"summer/été+100%.mp4":         1_234_567,
		"summer/notes/read me #1.txt": 7,
	}
	for p, n := range files {
		writeRandom(t, filepath.Join(src, filepath.FromSlash(p)), n)
	}
	t.Setenv("HEARTH_USER", "admin")
	t.Setenv("HEARTH_PASSWORD", "s3cret pass")
	pub.mustCLI("channel", "create", "Summer")
	pub.mustCLI("channel", "add", "Summer", filepath.Join(src, "summer"))
	pub.mustCLI("channel", "publish", "Summer")
	out := pub.mustCLI("share", "create", "--channel", "Summer", "--max-downloads", "2")
	m := regexp.MustCompile(`/s/([A-Za-z0-9_-]{24})\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("share create printed no link:\n%s", out)
	}
	t.Setenv("HEARTH_USER", "")
	t.Setenv("HEARTH_PASSWORD", "")

	base := pub.api + "/s/" + m[1]
	code, hdr, raw := httpGet(t, base+"/share.torrent")
	if code != 200 || hdr.Get("Content-Type") != "application/x-bittorrent" {
		t.Fatalf("GET share.torrent = %d %q", code, hdr.Get("Content-Type"))
	}
	mi, err := metainfo.Load(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{base + "/seed/"}; !slices.Equal(mi.UrlList, want) {
		t.Errorf("url-list = %q, want %q", mi.UrlList, want)
	}
	if code, _, _ := httpGet(t, pub.api+"/api/v1/torrents"); code != http.StatusUnauthorized {
		t.Errorf("unauthenticated API = %d, want 401", code)
	}
	tf := filepath.Join(t.TempDir(), "Summer.torrent")
	if err := os.WriteFile(tf, raw, 0o644); err != nil {
		t.Fatal(err)
	}

	// aria2c with nothing but the .torrent.
	if aria, err := exec.LookPath("aria2c"); err != nil {
		t.Log("aria2c not installed: skipping its part")
	} else {
		dir := t.TempDir()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, aria, "--no-conf", "--enable-dht=false", "--enable-dht6=false",
			"--enable-peer-exchange=false", "--bt-enable-lpd=false", "--bt-tracker-connect-timeout=1",
			"--seed-time=0", "--follow-torrent=mem", "--listen-port="+strconv.Itoa(freePort(t)),
			"--console-log-level=warn", "--summary-interval=0", "--dir", dir, tf)
		cmd.Env = append(os.Environ(), "http_proxy=", "all_proxy=", "HTTP_PROXY=", "ALL_PROXY=")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("aria2c: %v\n%s", err, b)
		}
		seedSameFiles(t, src, filepath.Join(dir, "-"), files)
	}

	// A second daemon, no DHT (daemonEnv), no mDNS, no tracker, no peer
	// address: the web seed is its only source.
	sub := startDaemonProc(t, t.TempDir(), alone...)
	sub.mustCLI("add", tf)
	var got engine.Torrent
	deadline := time.Now().Add(2 * time.Minute) // catches hangs; not a speed test
	for {
		if err := json.Unmarshal([]byte(sub.mustCLI("info", "1", "--json")), &got); err != nil {
			t.Fatal(err)
		}
		if got.HasMetadata && got.Done == got.WantedSize && got.WantedSize > 0 && got.DataDir == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("second daemon: %d/%d bytes after 2 min, state %s, peers %d", got.Done, got.WantedSize, got.State, got.Peers)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got.InfoHash != mi.HashInfoBytes().HexString() {
		t.Errorf("second daemon's infohash %s, want %s", got.InfoHash, mi.HashInfoBytes().HexString())
	}
	seedSameFiles(t, src, got.Dir, files)

	// The cap counts the two .torrent downloads, not the web seed's
	// requests: a third .torrent is refused, and so is the web seed.
	if code, _, _ := httpGet(t, base+"/share.torrent"); code != 200 {
		t.Errorf("second share.torrent = %d, want 200", code)
	}
	if code, _, _ := httpGet(t, base+"/share.torrent"); code != http.StatusGone {
		t.Errorf("third share.torrent with --max-downloads 2 = %d, want 410", code)
	}
}

// seedSameFiles fails unless every file (path → size) under src is under dir
// with the same bytes.
func seedSameFiles(t *testing.T, src, dir string, files map[string]int) {
	t.Helper()
	for p := range files {
		want, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s under %s: %d bytes (%v), want %d identical", p, dir, len(got), err, len(want))
		}
	}
}
