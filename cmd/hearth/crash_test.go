package main

// Helpers for tests that kill the daemon (reliability_powercut_test.go,
// which replaced TestCrashKill9: the same kill -9 loop during a download,
// with seeding, channels, settings, pairing and shares at the same time).

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

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
