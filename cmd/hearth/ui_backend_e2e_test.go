package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUIBackend runs the web UI's backend in a real daemon that does not
// trust loopback: a password login gives a session cookie, the events
// stream (authenticated by the cookie) reports a new torrent and a
// pairing request, and a signed stream link still opens its file without
// credentials after a restart (the key is in the store).
func TestUIBackend(t *testing.T) {
	dir := t.TempDir()
	downloads := filepath.Join(dir, "downloads")
	torrentFile := filepath.Join(dir, "ui.torrent")
	ih, files := makeContent(t, downloads, "ui-content", torrentFile, 200<<10)
	d := startDaemonProc(t, dir, "HEARTH_ACCESS_TRUST_LOOPBACK=false")

	call := func(method, path, cookie string, body any) (*http.Response, []byte) {
		t.Helper()
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, d.api+path, r)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	if resp, b := call("PUT", "/api/v1/password", "", map[string]string{"user": "admin", "password": "correct horse"}); resp.StatusCode != 200 {
		t.Fatalf("first password = %d %s", resp.StatusCode, b)
	}
	resp, b := call("POST", "/api/v1/session", "", map[string]string{"user": "admin", "password": "correct horse"})
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == "hearth_session" {
			cookie = c.Name + "=" + c.Value
		}
	}
	if resp.StatusCode != 200 || cookie == "" {
		t.Fatalf("login = %d %s, cookie %q", resp.StatusCode, b, cookie)
	}
	if resp, _ := call("GET", "/api/v1/events", "", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("events without the cookie = %d, want 401", resp.StatusCode)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", d.api+"/api/v1/events", nil)
	req.Header.Set("Cookie", cookie)
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if stream.StatusCode != 200 {
		t.Fatalf("events with the cookie = %d", stream.StatusCode)
	}
	events := make(chan [2]string, 64)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(stream.Body)
		sc.Buffer(nil, 1<<20)
		var name string
		for sc.Scan() {
			line := sc.Text()
			if n, ok := strings.CutPrefix(line, "event: "); ok {
				name = n
			} else if data, ok := strings.CutPrefix(line, "data: "); ok {
				events <- [2]string{name, data}
			}
		}
	}()
	wait := func(name, contains string) {
		t.Helper()
		deadline := time.After(30 * time.Second) // catches hangs; not a speed test
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatalf("event stream ended waiting for %s with %q", name, contains)
				}
				if ev[0] == name && strings.Contains(ev[1], contains) {
					return
				}
			case <-deadline:
				t.Fatalf("no %s event with %q within 30 s", name, contains)
			}
		}
	}
	wait("torrents", `"full":true`)

	mi, err := os.ReadFile(torrentFile)
	if err != nil {
		t.Fatal(err)
	}
	if resp, b := call("POST", "/api/v1/torrents", cookie, map[string]any{"metainfo": mi}); resp.StatusCode != http.StatusCreated {
		t.Fatalf("add with the cookie = %d %s", resp.StatusCode, b)
	}
	wait("torrents", ih)

	resp, b = call("POST", "/api/v1/pair", "", map[string]string{"name": "Living room TV"})
	var ticket struct{ Match string }
	json.Unmarshal(b, &ticket)
	if resp.StatusCode != http.StatusAccepted || len(ticket.Match) != 4 {
		t.Fatalf("pair = %d %s, want 202 with a match number", resp.StatusCode, b)
	}
	wait("pairing", `"match":"`+ticket.Match+`"`)

	deadline := time.Now().Add(60 * time.Second) // catches hangs; not a speed test
	for {
		_, b := call("GET", "/api/v1/torrents/"+ih, cookie, nil)
		if strings.Contains(string(b), `"state": "seeding"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("torrent not seeding after 60 s: %s", b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, b = call("GET", "/api/v1/torrents/"+ih+"/files/0/stream-url", cookie, nil)
	var su struct{ URL string }
	json.Unmarshal(b, &su)
	if resp.StatusCode != 200 || !strings.HasPrefix(su.URL, "/stream/") {
		t.Fatalf("stream-url = %d %s", resp.StatusCode, b)
	}
	cancel()
	d.stop()

	d = startDaemonProc(t, dir, "HEARTH_ACCESS_TRUST_LOOPBACK=false")
	resp, b = call("GET", su.URL, "", nil)
	want, _ := os.ReadFile(filepath.Join(downloads, "ui-content", files[0]))
	if resp.StatusCode != 200 || !bytes.Equal(b, want) {
		t.Errorf("signed link after a restart = %d, %d bytes; want 200 and the file's %d", resp.StatusCode, len(b), len(want))
	}
	if resp, _ := call("GET", strings.Replace(su.URL, "/0?", "/1?", 1), "", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("signed link for another index = %d, want 403", resp.StatusCode)
	}
	if resp, _ := call("GET", "/api/v1/session", cookie, nil); resp.StatusCode != 200 {
		t.Errorf("session cookie after a restart = %d, want 200", resp.StatusCode)
	}
}
