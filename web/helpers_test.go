package web

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
)

func TestMain(m *testing.M) {
	enginetest.ClassicFileIO()
	os.Exit(m.Run())
}

// startEngine runs a real engine that only ever talks to loopback (see
// enginetest.StartNode); it returns the engine and its data dir.
func startEngine(t testing.TB) (*engine.Engine, string) {
	t.Helper()
	n := enginetest.StartNode(t, enginetest.NodeOptions{})
	return n.Engine, n.Dir
}

// daemon is an API server over a real engine.
type daemon struct {
	t      testing.TB
	URL    string
	Engine *engine.Engine
	Dir    string // data dir; downloads go to Dir/downloads
}

func startDaemon(t testing.TB, tweak ...func(*Options)) *daemon {
	t.Helper()
	e, dir := startEngine(t)
	o := Options{
		Engine:  e,
		Logger:  enginetest.Logger(t),
		Version: VersionInfo{Version: "test", Commit: "abc", GoVersion: "go", OS: "linux", Arch: "amd64", Backends: []string{"bbolt"}},
		Config: func() []config.Entry {
			return []config.Entry{{Key: "listen", Value: "127.0.0.1:9091", Source: config.Source{Kind: config.SourceFlag, Detail: "--listen"}, Help: "address"}}
		},
	}
	for _, f := range tweak {
		f(&o)
	}
	srv := httptest.NewServer(NewHandler(o))
	t.Cleanup(srv.Close)
	return &daemon{t: t, URL: srv.URL, Engine: e, Dir: dir}
}

// do sends a request and returns the status and body.
func (d *daemon) do(method, path, contentType string, body io.Reader) (int, []byte) {
	d.t.Helper()
	req, err := http.NewRequest(method, d.URL+path, body)
	if err != nil {
		d.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		d.t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		d.t.Errorf("%s %s: Content-Type = %q, want application/json", method, path, ct)
	}
	return resp.StatusCode, b
}

// json sends in as JSON (nil: no body), checks the status and decodes the answer into out.
func (d *daemon) json(method, path string, in any, wantCode int, out any) {
	d.t.Helper()
	var body io.Reader
	ct := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			d.t.Fatal(err)
		}
		body, ct = bytes.NewReader(b), "application/json"
	}
	code, b := d.do(method, path, ct, body)
	if code != wantCode {
		d.t.Fatalf("%s %s = %d %s, want %d", method, path, code, b, wantCode)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			d.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// errorMessage checks an error body and returns its message.
func errorMessage(t testing.TB, b []byte) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("error body %q is not JSON: %v", b, err)
	}
	msg, ok := m["error"].(string)
	if !ok || len(m) != 1 {
		t.Fatalf("error body = %s, want {\"error\": \"…\"}", b)
	}
	if msg == "" || strings.ContainsAny(msg, "\r\n") {
		t.Fatalf("error message %q: want one non-empty line", msg)
	}
	return msg
}

// waitState polls the API until torrent id is in state want.
func (d *daemon) waitState(id int64, want engine.State) engine.Torrent {
	d.t.Helper()
	deadline := time.Now().Add(60 * time.Second) // catches hangs; not a speed test
	var t engine.Torrent
	for time.Now().Before(deadline) {
		d.json("GET", fmt.Sprintf("/api/v1/torrents/%d", id), nil, http.StatusOK, &t)
		if t.State == want {
			return t
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.t.Fatalf("torrent %d: state %s (error %q, %d/%d bytes) after 60 s, want %s", id, t.State, t.Error, t.Done, t.WantedSize, want)
	return t
}

// testTorrent is content on disk with its .torrent.
type testTorrent struct {
	Metainfo []byte
	InfoHash string
	Name     string
	Files    []string // paths relative to the torrent's folder
}

// makeTorrent writes random files of the given sizes under dir/name and
// builds a v1 torrent of them (32 KiB pieces).
func makeTorrent(t testing.TB, dir, name string, sizes ...int64) testTorrent {
	t.Helper()
	root := filepath.Join(dir, name)
	tt := testTorrent{Name: name}
	for i, size := range sizes {
		rel := fmt.Sprintf("file%d.bin", i)
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data := make([]byte, size)
		rand.Read(data)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		tt.Files = append(tt.Files, rel)
	}
	tt.Metainfo, tt.InfoHash = enginetest.BuildTorrent(t, dir, name, 32<<10)
	return tt
}
