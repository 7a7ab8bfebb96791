package web

import (
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
)

// fenced is the real engine behind a fence for the fuzzer: random requests
// must not make the test send traffic beyond loopback (trackers in a fuzzed
// magnet, peers at random addresses) or write or delete files outside its
// folder (a fuzzed "dir"), so torrents are added paused inside the test's
// folder and nothing starts them. Everything else — parsing, validation,
// lookups, patches, removal — is the engine's own code.
type fenced struct {
	*engine.Engine
	dir string
}

var errFenced = &engine.InputError{Msg: "fenced: torrents never start in the fuzz test"}

func (f fenced) inside(p string) bool {
	return p == f.dir || strings.HasPrefix(filepath.Clean(p), f.dir+string(filepath.Separator))
}

func (f fenced) Add(ctx context.Context, req engine.AddRequest) (engine.Torrent, bool, error) {
	req.Paused = true
	if filepath.IsAbs(req.Dir) && !f.inside(req.Dir) {
		req.Dir = f.dir
	}
	if req.Path != "" && !f.inside(req.Path) {
		req.Path = filepath.Join(f.dir, "no-such.torrent")
	}
	peers := req.Peers[:0:0]
	for _, p := range req.Peers {
		host, _, err := net.SplitHostPort(p)
		if ip := net.ParseIP(host); err != nil || (ip != nil && ip.IsLoopback()) {
			peers = append(peers, p) // malformed ones stay: the engine must refuse them
		}
	}
	req.Peers = peers
	return f.Engine.Add(ctx, req)
}

func (f fenced) Resume(int64) error             { return errFenced }
func (f fenced) StartNow(int64) error           { return errFenced }
func (f fenced) Verify(int64) error             { return errFenced }
func (f fenced) AddPeers(int64, []string) error { return errFenced }

func (f fenced) SetSettings(p engine.SettingsPatch) (engine.Settings, error) {
	if p.DownloadDir != nil && filepath.IsAbs(*p.DownloadDir) && !f.inside(*p.DownloadDir) {
		d := f.dir
		p.DownloadDir = &d
	}
	return f.Engine.SetSettings(p)
}

// FuzzAPI throws random methods, paths, content types and bodies at the
// handler over a real engine: no request may panic or get a 5xx, and
// every error must be the JSON error shape.
func FuzzAPI(f *testing.F) {
	tt := makeTorrent(f, f.TempDir(), "fuzz", 40<<10, 3)
	b64 := base64.StdEncoding.EncodeToString(tt.Metainfo)
	ih := strings.Repeat("ab", 20)
	seeds := []struct{ method, path, ct, body string }{
		{"GET", "/api/v1/version", "", ""},
		{"GET", "/api/v1/stats", "", ""},
		{"GET", "/api/v1/torrents", "", ""},
		{"GET", "/api/v1/config", "", ""},
		{"POST", "/api/v1/torrents", "application/json", `{"metainfo":"` + b64 + `","files":[0]}`},
		{"POST", "/api/v1/torrents", "application/json", `{"magnet":"magnet:?xt=urn:btih:` + ih + `&dn=x&tr=http%3A%2F%2F127.0.0.1%2Fa","peers":["127.0.0.1:1"]}`},
		{"POST", "/api/v1/torrents", "application/json", `{"magnet":"magnet:?dn=x"}`},
		{"POST", "/api/v1/torrents", "application/json", `{"magnet":"magnet:?xs=urn:btpk:` + strings.Repeat("0", 64) + `"}`},
		{"POST", "/api/v1/torrents", "application/json", `{"url":"http://127.0.0.1:1/x.torrent"}`},
		{"POST", "/api/v1/torrents", "application/json", `{"path":"/nonexistent.torrent","dir":"/tmp/x"}`},
		{"POST", "/api/v1/torrents?paused=1&files=0", "application/x-bittorrent", string(tt.Metainfo)},
		{"POST", "/api/v1/torrents", "multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"magnet\"\r\n\r\n" + ih + "\r\n--X--\r\n"},
		{"GET", "/api/v1/torrents/1", "", ""},
		{"GET", "/api/v1/torrents/" + tt.InfoHash, "", ""},
		{"POST", "/api/v1/torrents/1/pause", "", ""},
		{"POST", "/api/v1/torrents/1/resume", "", ""},
		{"POST", "/api/v1/torrents/1/peers", "application/json", `{"peers":["127.0.0.1:2"]}`},
		{"PATCH", "/api/v1/torrents/1", "application/json", `{"files":[{"index":0,"wanted":false,"priority":1}],"options":{"seedRatio":-1},"queuePos":3}`},
		{"DELETE", "/api/v1/torrents/1?delete_data=true", "", ""},
		{"GET", "/api/v1/settings", "", ""},
		{"PATCH", "/api/v1/settings", "application/json", `{"maxDownloads":2,"seedIdle":3600000000000}`},
		{"OPTIONS", "/api/v1/torrents", "", ""},
		{"GET", "/api/v1/torrents/%2e%2e/x", "", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.ct, []byte(s.body))
	}

	e, dir := startEngine(f)
	fetch := func(ctx context.Context, url string) ([]byte, error) {
		return []byte("<html>no torrents here</html>"), nil // never the network
	}
	h := NewHandler(Options{Engine: fenced{Engine: e, dir: dir}, Logger: enginetest.Logger(f), Fetch: fetch,
		Config: func() []config.Entry { return nil }})

	f.Fuzz(func(t *testing.T, method, path, ct string, body []byte) {
		if !validMethod(method) || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " \t\r\n#") {
			return // not an HTTP request a server could receive
		}
		req, err := http.NewRequest(method, "http://127.0.0.1:9091"+path, strings.NewReader(string(body)))
		if err != nil {
			return
		}
		if ct != "" {
			req.Header["Content-Type"] = []string{ct}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s (%s) %q = %d %s", method, path, ct, body, rec.Code, rec.Body.Bytes())
		}
		if rec.Code >= 400 {
			errorMessage(t, rec.Body.Bytes())
		}
	})
}

func validMethod(m string) bool {
	if m == "" || len(m) > 16 {
		return false
	}
	for _, r := range m {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}
