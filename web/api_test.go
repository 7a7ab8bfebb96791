package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine"
)

// addResult is the answer of POST /api/v1/torrents.
type addResult struct {
	engine.Torrent
	Existed bool `json:"existed"`
}

func TestVersionStatsConfig(t *testing.T) {
	d := startDaemon(t)
	var v VersionInfo
	d.json("GET", "/api/v1/version", nil, http.StatusOK, &v)
	if v.Version != "test" || v.Commit != "abc" || len(v.Backends) != 1 {
		t.Errorf("GET /version = %+v, want the VersionInfo given to NewHandler", v)
	}
	var st engine.Stats
	d.json("GET", "/api/v1/stats", nil, http.StatusOK, &st)
	if st.Torrents != 0 || st.PeerPort == 0 {
		t.Errorf("GET /stats = %+v, want 0 torrents and a peer port", st)
	}
	var cfg struct{ Entries []ConfigEntry }
	d.json("GET", "/api/v1/config", nil, http.StatusOK, &cfg)
	want := ConfigEntry{Key: "listen", Value: "127.0.0.1:9091", Source: "flag --listen", Help: "address"}
	if len(cfg.Entries) != 1 || cfg.Entries[0] != want {
		t.Errorf("GET /config = %+v, want [%+v]", cfg.Entries, want)
	}
	var list struct{ Torrents []engine.Torrent }
	code, b := d.do("GET", "/api/v1/torrents", "", nil)
	var raw map[string]json.RawMessage
	json.Unmarshal(b, &raw)
	if code != http.StatusOK || string(raw["torrents"]) != "[]" {
		t.Errorf("GET /torrents on an empty engine = %d %s, want 200 with an empty array (not null)", code, b)
	}
	if err := json.Unmarshal(b, &list); err != nil || len(list.Torrents) != 0 {
		t.Errorf("GET /torrents = %s (%v), want no torrents", b, err)
	}
}

// TestTorrentLifecycle drives one torrent through every endpoint: add (its
// data is already in the download folder), verify to seeding, duplicate
// add, lookups by id and infohash, pause, resume, start-now, verify, patch,
// peers, remove with data.
func TestTorrentLifecycle(t *testing.T) {
	d := startDaemon(t)
	dl := filepath.Join(d.Dir, "downloads")
	tt := makeTorrent(t, dl, "lifecycle", 100<<10, 70<<10, 5)

	body, _ := json.Marshal(map[string]any{"metainfo": tt.Metainfo}) // []byte marshals as base64
	req, _ := http.NewRequest("POST", d.URL+"/api/v1/torrents", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var added addResult
	json.NewDecoder(resp.Body).Decode(&added)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || added.Existed || added.InfoHash != tt.InfoHash || added.Name != "lifecycle" {
		t.Fatalf("add = %d %+v, want 201, existed false, infohash %s", resp.StatusCode, added, tt.InfoHash)
	}
	if loc, want := resp.Header.Get("Location"), fmt.Sprintf("/api/v1/torrents/%d", added.ID); loc != want {
		t.Errorf("Location = %q, want %q", loc, want)
	}
	id := added.ID
	path := fmt.Sprintf("/api/v1/torrents/%d", id)

	seeding := d.waitState(id, engine.StateSeeding)
	if seeding.Progress != 1 || seeding.Done != seeding.WantedSize || len(seeding.Files) != 3 {
		t.Errorf("after verifying: %+v, want progress 1 and 3 files", seeding)
	}

	var again addResult
	d.json("POST", "/api/v1/torrents", map[string]any{"metainfo": tt.Metainfo}, http.StatusOK, &again)
	if !again.Existed || again.ID != id {
		t.Errorf("second add = existed %v id %d, want existed true id %d", again.Existed, again.ID, id)
	}
	var byHash engine.Torrent
	d.json("GET", "/api/v1/torrents/"+tt.InfoHash, nil, http.StatusOK, &byHash)
	if byHash.ID != id {
		t.Errorf("GET by infohash = id %d, want %d", byHash.ID, id)
	}
	var list struct{ Torrents []engine.Torrent }
	d.json("GET", "/api/v1/torrents", nil, http.StatusOK, &list)
	if len(list.Torrents) != 1 || list.Torrents[0].ID != id {
		t.Errorf("GET /torrents = %+v, want the one torrent", list.Torrents)
	}

	var got engine.Torrent
	d.json("POST", path+"/pause", nil, http.StatusOK, &got)
	if got.State != engine.StateStopped {
		t.Errorf("pause: state %s, want stopped", got.State)
	}
	d.json("POST", path+"/resume", nil, http.StatusOK, &got)
	d.waitState(id, engine.StateSeeding)
	d.json("POST", path+"/start-now", nil, http.StatusOK, &got)
	d.json("POST", path+"/verify", nil, http.StatusOK, &got)
	d.waitState(id, engine.StateSeeding)

	// Options, files and queue position in one PATCH.
	patch := `{"options": {"downloadKBps": 300, "uploadKBps": 40, "seedRatio": 2.5},
		"files": [{"index": 2, "wanted": false}, {"index": 0, "priority": 1}], "queuePos": 0}`
	code, b := d.do("PATCH", path, "application/json", strings.NewReader(patch))
	if code != http.StatusOK {
		t.Fatalf("PATCH = %d %s, want 200", code, b)
	}
	json.Unmarshal(b, &got)
	if o := got.Options; o.DownloadKBps != 300 || o.UploadKBps != 40 || o.SeedRatio != 2.5 {
		t.Errorf("after PATCH options = %+v, want 300/40/2.5", o)
	}
	if len(got.Files) != 3 || got.Files[2].Wanted || got.Files[0].Priority != engine.PriorityHigh {
		t.Errorf("after PATCH files = %+v, want file 2 unwanted and file 0 high", got.Files)
	}
	code, b = d.do("PATCH", path, "application/json", strings.NewReader(`{"files": [{"index": 9, "wanted": true}]}`))
	if code != http.StatusBadRequest {
		t.Errorf("PATCH file index 9 of 3 = %d %s, want 400", code, b)
	}
	errorMessage(t, b)

	// A peer on loopback: a listener nobody answers from is enough.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d.json("POST", path+"/peers", map[string]any{"peers": []string{ln.Addr().String()}}, http.StatusOK, nil)
	code, b = d.do("POST", path+"/peers", "application/json", strings.NewReader(`{"peers": ["no port"]}`))
	if code != http.StatusBadRequest {
		t.Errorf("add peer without a port = %d %s, want 400", code, b)
	}

	var removed engine.Torrent
	d.json("DELETE", path+"?delete_data=true", nil, http.StatusOK, &removed)
	if removed.ID != id {
		t.Errorf("DELETE answered torrent %d, want %d", removed.ID, id)
	}
	for _, f := range tt.Files {
		if _, err := os.Stat(filepath.Join(dl, tt.Name, f)); !os.IsNotExist(err) {
			t.Errorf("%s after remove with delete_data: %v, want it gone", f, err)
		}
	}
	code, b = d.do("GET", path, "", nil)
	if code != http.StatusNotFound {
		t.Errorf("GET removed torrent = %d %s, want 404", code, b)
	}
	if msg := errorMessage(t, b); !strings.Contains(msg, "not found") {
		t.Errorf("404 message %q, want it to say not found", msg)
	}
}

func TestAddRawAndMultipart(t *testing.T) {
	d := startDaemon(t)
	src := t.TempDir()
	raw := makeTorrent(t, src, "raw", 40<<10, 10)
	form := makeTorrent(t, src, "form", 50<<10)

	// Raw body, options in the query.
	code, b := d.do("POST", "/api/v1/torrents?paused=true&files=1&peer=127.0.0.1:9", "application/x-bittorrent", bytes.NewReader(raw.Metainfo))
	var got addResult
	if err := json.Unmarshal(b, &got); err != nil || code != http.StatusCreated {
		t.Fatalf("raw add = %d %s, want 201", code, b)
	}
	if got.State != engine.StateStopped || len(got.Files) != 2 || got.Files[0].Wanted || !got.Files[1].Wanted {
		t.Errorf("raw add: state %s files %+v, want stopped with only file 1 wanted", got.State, got.Files)
	}

	// Multipart form: the file part and fields.
	dir := filepath.Join(d.Dir, "elsewhere")
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("torrent", "form.torrent")
	fw.Write(form.Metainfo)
	mw.WriteField("dir", dir)
	mw.WriteField("paused", "true")
	mw.Close()
	code, b = d.do("POST", "/api/v1/torrents", mw.FormDataContentType(), &buf)
	if err := json.Unmarshal(b, &got); err != nil || code != http.StatusCreated {
		t.Fatalf("multipart add = %d %s, want 201", code, b)
	}
	if got.Dir != dir || got.InfoHash != form.InfoHash || got.State != engine.StateStopped {
		t.Errorf("multipart add = dir %q infohash %s state %s, want %q %s stopped", got.Dir, got.InfoHash, got.State, dir, form.InfoHash)
	}
}

func TestAddURL(t *testing.T) {
	d := startDaemon(t)
	tt := makeTorrent(t, t.TempDir(), "fetched", 20<<10)
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok.torrent":
			w.Write(tt.Metainfo)
		case "/page":
			w.Write([]byte("<html>not a torrent</html>"))
		case "/magnet":
			http.Redirect(w, r, "magnet:?xt=urn:btih:"+strings.Repeat("ab", 20), http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer files.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()

	tests := []struct {
		url      string
		wantCode int
	}{
		{files.URL + "/ok.torrent", http.StatusCreated},
		{files.URL + "/magnet", http.StatusCreated}, // an indexer's redirect to a magnet
		{files.URL + "/missing.torrent", http.StatusBadRequest},
		{files.URL + "/page", http.StatusBadRequest},
		{deadURL + "/x.torrent", http.StatusBadGateway},
		{"ftp://127.0.0.1/x.torrent", http.StatusBadRequest},
	}
	for _, tc := range tests {
		body, _ := json.Marshal(map[string]any{"url": tc.url, "paused": true})
		code, b := d.do("POST", "/api/v1/torrents", "application/json", bytes.NewReader(body))
		if code != tc.wantCode {
			t.Errorf("add url %s = %d %s, want %d", tc.url, code, b, tc.wantCode)
			continue
		}
		if code >= 400 {
			errorMessage(t, b)
		}
	}
}

func TestEngineInputErrors(t *testing.T) {
	d := startDaemon(t)
	tests := []struct {
		method, path, body string
		wantCode           int
	}{
		{"POST", "/api/v1/torrents", `{"magnet": "magnet:?dn=no-infohash"}`, http.StatusBadRequest},
		{"POST", "/api/v1/torrents", `{"magnet": "magnet:?xs=urn:btpk:` + strings.Repeat("a", 64) + `"}`, http.StatusBadRequest},
		{"POST", "/api/v1/torrents", `{"metainfo": "bm90IGEgdG9ycmVudA=="}`, http.StatusBadRequest},
		{"POST", "/api/v1/torrents", `{"path": "/nonexistent/x.torrent"}`, http.StatusBadRequest},
		{"POST", "/api/v1/torrents", `{"magnet": "` + strings.Repeat("cd", 20) + `", "dir": "relative/dir"}`, http.StatusBadRequest},
		{"POST", "/api/v1/torrents", `{"magnet": "` + strings.Repeat("cd", 20) + `", "peers": ["nope"]}`, http.StatusBadRequest},
		{"GET", "/api/v1/torrents/abc", "", http.StatusBadRequest},
		{"GET", "/api/v1/torrents/99", "", http.StatusNotFound},
		{"GET", "/api/v1/torrents/" + strings.Repeat("0", 40), "", http.StatusNotFound},
		{"POST", "/api/v1/torrents/99/pause", "", http.StatusNotFound},
		{"DELETE", "/api/v1/torrents/99", "", http.StatusNotFound},
		{"PATCH", "/api/v1/torrents/99", `{"queuePos": 1}`, http.StatusNotFound},
		{"PATCH", "/api/v1/settings", `{"downloadKBps": -5}`, http.StatusBadRequest},
		{"PATCH", "/api/v1/settings", `{"downloadDir": "not/absolute"}`, http.StatusBadRequest},
	}
	for _, tc := range tests {
		ct := ""
		if tc.body != "" {
			ct = "application/json"
		}
		code, b := d.do(tc.method, tc.path, ct, strings.NewReader(tc.body))
		if code != tc.wantCode {
			t.Errorf("%s %s %s = %d %s, want %d", tc.method, tc.path, tc.body, code, b, tc.wantCode)
			continue
		}
		errorMessage(t, b)
	}
	var list struct{ Torrents []engine.Torrent }
	d.json("GET", "/api/v1/torrents", nil, http.StatusOK, &list)
	if len(list.Torrents) != 0 {
		t.Errorf("after refused adds: %d torrents, want 0", len(list.Torrents))
	}
}

func TestSettings(t *testing.T) {
	d := startDaemon(t)
	var s engine.Settings
	d.json("GET", "/api/v1/settings", nil, http.StatusOK, &s)
	if s.DownloadDir != filepath.Join(d.Dir, "downloads") {
		t.Errorf("GET /settings downloadDir = %q, want %q", s.DownloadDir, filepath.Join(d.Dir, "downloads"))
	}
	dir := filepath.Join(d.Dir, "other")
	d.json("PATCH", "/api/v1/settings", map[string]any{"downloadKBps": 250, "maxSeeds": 3, "seedIdle": int64(2 * time.Hour), "downloadDir": dir}, http.StatusOK, &s)
	if s.DownloadKBps != 250 || s.MaxSeeds != 3 || s.SeedIdle != 2*time.Hour || s.DownloadDir != dir {
		t.Errorf("PATCH /settings = %+v, want the values sent", s)
	}
	var again engine.Settings
	d.json("GET", "/api/v1/settings", nil, http.StatusOK, &again)
	if !reflect.DeepEqual(again, s) {
		t.Errorf("GET after PATCH = %+v, want %+v", again, s)
	}
}
