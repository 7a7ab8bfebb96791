package web

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/share"
	"github.com/hearth-media/hearth/engine/store"
	"github.com/hearth-media/hearth/web/sharepage"
)

// TestAuthSharePageExemption: GET/HEAD under /s/ reach the share pages
// without credentials when they are served; nothing else does.
func TestAuthSharePageExemption(t *testing.T) {
	var calls atomic.Int32
	pages := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Write([]byte("page"))
	})
	e := newAuthEnv(t, func(o *Options) { o.SharePages = pages; o.TrustLoopback = false })
	for _, tt := range []struct{ method, path string }{
		{"GET", "/s/abcdefghijklmnopqrstuvwx"},
		{"GET", "/s/abcdefghijklmnopqrstuvwx/f/0?dl=1"},
		{"HEAD", "/s/abcdefghijklmnopqrstuvwx/all.zip"},
	} {
		e.expect(e.req(tt.method, tt.path, lanAddr, nil), 200, tt.method+" "+tt.path+" without credentials")
	}
	for _, tt := range []struct{ method, path string }{
		{"POST", "/s/abcdefghijklmnopqrstuvwx"},
		{"PUT", "/s/abcdefghijklmnopqrstuvwx"},
		{"DELETE", "/s/abcdefghijklmnopqrstuvwx"},
		{"GET", "/s/x/../../api/v1/torrents"},
		{"GET", "/s/x/%2e%2e/%2e%2e/api/v1/torrents"},
		{"GET", "/s/x%2f..%2f..%2fapi/v1/torrents"},
		{"GET", "/s"},
		{"GET", "/api/v1/torrents"},
		{"GET", "/api/v1/shares"},
		{"GET", "/S/abcdefghijklmnopqrstuvwx"},
	} {
		e.expect(e.req(tt.method, tt.path, lanAddr, nil), 401, tt.method+" "+tt.path+" without credentials")
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("share pages called %d times, want 3", n)
	}
	// The Host check still applies (DNS rebinding).
	e.expect(e.req("GET", "/s/abcdefghijklmnopqrstuvwx", lanAddr, nil, "Host", "evil.example:9091"), 421, "share page with a foreign Host")
	// Without share pages /s/ is not public.
	e2 := newAuthEnv(t, func(o *Options) { o.TrustLoopback = false })
	e2.expect(e2.req("GET", "/s/abcdefghijklmnopqrstuvwx", lanAddr, nil), 401, "GET /s/… without share pages")
}

// TestSharesAPI: a share of two of a seeding torrent's three files,
// created, listed, opened through its link, revoked.
func TestSharesAPI(t *testing.T) {
	st, err := store.Open(store.Options{Backend: store.BackendMemory})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sm := share.New(st, nil)
	var eng *engine.Engine
	d := startDaemon(t, func(o *Options) {
		eng = o.Engine.(*engine.Engine)
		o.Shares = sm
		o.SharePages = sharepage.NewHandler(sharepage.Options{Shares: sm, Torrents: eng})
	})
	tt := makeTorrent(t, filepath.Join(d.Dir, "downloads"), "trip", 40<<10, 3, 7)
	var added addResult
	d.json("POST", "/api/v1/torrents", map[string]any{"metainfo": tt.Metainfo}, http.StatusCreated, &added)
	d.waitState(added.ID, engine.StateSeeding)

	for _, bad := range []struct {
		body any
		code int
	}{
		{map[string]any{}, 400},
		{map[string]any{"torrentId": 999}, 404},
		{map[string]any{"channel": "x"}, 503}, // no channels in this daemon
		{map[string]any{"torrentId": added.ID, "files": []string{"nope"}}, 400},
		{map[string]any{"torrentId": added.ID, "expiresIn": "soon"}, 400},
	} {
		var out map[string]any
		d.json("POST", "/api/v1/shares", bad.body, bad.code, &out)
	}

	var info ShareInfo
	d.json("POST", "/api/v1/shares", map[string]any{"torrentId": added.ID, "files": []string{"file1.bin", "file2.bin"},
		"label": "Trip <2026>", "expiresIn": "7d", "maxDownloads": 3}, http.StatusCreated, &info)
	if info.Status != "active" || len(info.Token) < 22 || info.ExpiresAt.IsZero() || info.Outside {
		t.Fatalf("created %+v", info)
	}
	if len(info.Links) == 0 || !strings.HasSuffix(info.Links[0].URL, "/s/"+info.Token) {
		t.Errorf("links = %+v", info.Links)
	}
	var list struct{ Shares []ShareInfo }
	d.json("GET", "/api/v1/shares", nil, 200, &list)
	if len(list.Shares) != 1 || list.Shares[0].ID != info.ID {
		t.Errorf("list = %+v", list)
	}

	code, page := rawGet(t, d.URL+"/s/"+info.Token)
	if code != 200 || !bytes.Contains(page, []byte("Trip &lt;2026&gt;")) || !bytes.Contains(page, []byte("file2.bin")) || bytes.Contains(page, []byte("file0.bin")) {
		t.Errorf("page = %d\n%s", code, page)
	}
	want, _ := os.ReadFile(filepath.Join(d.Dir, "downloads", "trip", "file2.bin"))
	code, got := rawGet(t, d.URL+"/s/"+info.Token+"/f/1")
	if code != 200 || !bytes.Equal(got, want) {
		t.Errorf("file 1 = %d, %d bytes; want %d bytes of file2.bin", code, len(got), len(want))
	}

	resp, err := http.Get(d.URL + "/api/v1/shares/" + info.ID + "/qr.png?size=128")
	if err != nil {
		t.Fatal(err)
	}
	qb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || !bytes.HasPrefix(qb, []byte("\x89PNG")) {
		t.Errorf("qr.png = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var qerr map[string]any
	d.json("GET", "/api/v1/shares/"+info.ID+"/qr.png?size=5", nil, 400, &qerr)

	d.json("DELETE", "/api/v1/shares/"+info.ID, nil, 200, &info)
	if info.Status != "revoked" {
		t.Errorf("after DELETE status = %q", info.Status)
	}
	if code, _ := rawGet(t, d.URL+"/s/"+info.Token); code != http.StatusGone {
		t.Errorf("revoked page = %d, want 410", code)
	}
	var out map[string]any
	d.json("DELETE", "/api/v1/shares/nosuch", nil, 404, &out)
}

func rawGet(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
