package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine"
)

// apiJSON does one API call on d and decodes the answer into out.
func (d *daemonProc) apiJSON(method, path string, body any, out any) {
	d.t.Helper()
	var rb bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&rb).Encode(body); err != nil {
			d.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, d.api+path, &rb)
	if err != nil {
		d.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		d.t.Fatalf("%s %s: %s: %s", method, path, resp.Status, e.Error)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			d.t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
}

func (d *daemonProc) stats() engine.Stats {
	var s engine.Stats
	d.apiJSON("GET", "/api/v1/stats", nil, &s)
	return s
}

// kill9 kills the daemon with SIGKILL: no shutdown code runs.
func (d *daemonProc) kill9() {
	d.t.Helper()
	if err := d.cmd.Process.Kill(); err != nil {
		d.t.Fatal(err)
	}
	<-d.done
	d.done <- nil // startDaemonProc's cleanup reads it again
}

// TestCrashKill9 kills the daemon with SIGKILL several times in the middle
// of a download. After each restart every torrent and setting is still
// there, no piece that was verified before the kill is lost or hashed
// again, and after the last restart the download completes with the
// right bytes.
func TestCrashKill9(t *testing.T) {
	// bbolt is the store of 32-bit devices; both must keep what they acknowledged.
	for _, backend := range []string{"badger", "bbolt"} {
		t.Run(backend, func(t *testing.T) { crashKill9(t, "HEARTH_STORE_BACKEND="+backend) })
	}
}

func crashKill9(t *testing.T, storeEnv string) {
	seedDir := t.TempDir()
	content := filepath.Join(seedDir, "content")
	torrentFile := filepath.Join(seedDir, "crash.torrent")
	ih, files := makeContent(t, content, "crash-content", torrentFile, 5<<20, 3<<20+777, 4<<20)
	const size = 12<<20 + 777

	seeder := startDaemonProc(t, seedDir)
	seeder.mustCLI("add", "--dir", content, torrentFile)
	seeder.waitState(ih, engine.StateSeeding)
	seedPeer := fmt.Sprintf("127.0.0.1:%d", seeder.stats().PeerPort)

	dataDir := t.TempDir()
	d := startDaemonProc(t, dataDir, storeEnv)
	// About 6 s for the whole download: room to kill it at random moments.
	d.mustCLI("set", "--global", "--down-limit", "2000")
	d.mustCLI("add", "--peer", seedPeer, torrentFile)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 42))
	lastDone := int64(0)
	for round := 0; round < 4; round++ {
		// Wait for some progress beyond the last kill, then kill at a random moment.
		deadline := time.Now().Add(60 * time.Second)
		for {
			x := d.torrent(ih)
			if x.Done > lastDone || x.State == engine.StateSeeding {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: no progress past %d bytes (state %s, error %q)", round, lastDone, x.State, x.Error)
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(800)) * time.Millisecond)
		before := d.torrent(ih)
		d.kill9()
		if before.State == engine.StateSeeding {
			t.Logf("round %d: download finished before the kill", round)
		}

		d = startDaemonProc(t, dataDir, storeEnv)
		if got := d.stats().Store; "HEARTH_STORE_BACKEND="+got != storeEnv {
			t.Fatalf("daemon runs store %q, want %s", got, storeEnv)
		}
		after := d.torrent(ih)
		if after.Done < before.Done {
			t.Fatalf("round %d: %d verified bytes before kill -9, %d after restart: verified pieces were lost", round, before.Done, after.Done)
		}
		var s engine.Settings
		d.apiJSON("GET", "/api/v1/settings", nil, &s)
		if s.DownloadKBps != 2000 {
			t.Fatalf("round %d: download limit after restart = %d, want 2000", round, s.DownloadKBps)
		}
		if n := len(d.mustLs()); n != 1 {
			t.Fatalf("round %d: %d torrents after restart, want 1", round, n)
		}
		// Let any start-up check run; nothing verified before the kill may be hashed again.
		time.Sleep(time.Second)
		if h, max := d.stats().BytesHashed, int64(size)-before.Done; h > max {
			t.Fatalf("round %d: %d bytes hashed after restart, but only %d were not verified before the kill", round, h, max)
		}
		t.Logf("round %d: killed at %d/%d bytes, restart found %d, hashed %d", round, before.Done, size, after.Done, d.stats().BytesHashed)
		lastDone = after.Done
		d.apiJSON("POST", "/api/v1/torrents/"+ih+"/peers", map[string]any{"peers": []string{seedPeer}}, nil)
	}
	d.mustCLI("set", "--global", "--down-limit", "0")
	d.waitState(ih, engine.StateSeeding)
	dl := d.torrent(ih).Dir
	for _, f := range files {
		want, err := os.ReadFile(filepath.Join(content, "crash-content", f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dl, "crash-content", f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%s differs from the original after the crashes", f)
		}
	}
}

// mustLs returns the daemon's torrents.
func (d *daemonProc) mustLs() []engine.Torrent {
	d.t.Helper()
	var list struct{ Torrents []engine.Torrent }
	out := d.mustCLI("ls", "--json")
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &list); err != nil {
		d.t.Fatalf("ls --json: %v\n%s", err, out)
	}
	return list.Torrents
}
