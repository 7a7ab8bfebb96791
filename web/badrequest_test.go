package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
)

// engineless is the handler with no engine at all: a request that reaches
// the engine panics, which the handler turns into a 500. The requests below
// must all be refused before that, with the right 4xx.
func engineless(t *testing.T, logs io.Writer) http.Handler {
	if logs == nil {
		logs = enginetest.NewTestWriter(t)
	}
	return NewHandler(Options{
		Logger:  slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Version: VersionInfo{Version: "v1.2.3"},
		Fetch: func(ctx context.Context, url string) ([]byte, error) {
			t.Errorf("fetch %s: a refused request must not fetch anything", url)
			return nil, errors.New("no fetch in this test")
		},
	})
}

func serve(h http.Handler, method, path, contentType string, body io.Reader, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, body)
	req.Host = "127.0.0.1:9091"
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func multipartBody(t *testing.T, build func(mw *multipart.Writer)) (string, *bytes.Buffer) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	build(mw)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), &buf
}

func TestBadRequests(t *testing.T) {
	h := engineless(t, nil)
	const js = "application/json"
	huge := func(n int) string { return strings.Repeat("a", n) }
	formCT, unknownField := multipartBody(t, func(mw *multipart.Writer) { mw.WriteField("bogus", "1") })
	formCT2, twoTorrents := multipartBody(t, func(mw *multipart.Writer) {
		w, _ := mw.CreateFormFile("torrent", "a.torrent")
		w.Write([]byte("d4:infod")) // never parsed: the second part is refused first
		w, _ = mw.CreateFormFile("torrent", "b.torrent")
		w.Write([]byte("d4:infod"))
	})
	formCT3, badPaused := multipartBody(t, func(mw *multipart.Writer) { mw.WriteField("paused", "maybe") })
	formCT4, bigField := multipartBody(t, func(mw *multipart.Writer) { mw.WriteField("dir", huge(70<<10)) })

	tests := []struct {
		name         string
		method, path string
		ct           string
		body         io.Reader
		header       []string
		wantCode     int
		wantMsg      string
	}{
		{"unknown route", "GET", "/api/v1/nope", "", nil, nil, 404, "no such API endpoint"},
		{"not the API", "GET", "/nope", "", nil, nil, 404, "no such API endpoint"},
		{"unknown action", "POST", "/api/v1/torrents/1/explode", "", nil, nil, 404, "no such API endpoint"},
		{"wrong method on list", "PUT", "/api/v1/torrents", js, strings.NewReader("{}"), nil, 405, "allowed: GET, POST"},
		{"wrong method on version", "DELETE", "/api/v1/version", "", nil, nil, 405, "method DELETE not allowed"},
		{"GET on an action", "GET", "/api/v1/torrents/1/pause", "", nil, nil, 405, "allowed: POST"},
		{"no content type", "POST", "/api/v1/torrents", "", strings.NewReader(`{"magnet":"x"}`), nil, 415, "missing Content-Type"},
		{"text/plain", "POST", "/api/v1/torrents", "text/plain", strings.NewReader(`{"magnet":"x"}`), nil, 415, "unsupported Content-Type"},
		{"form-urlencoded", "PATCH", "/api/v1/settings", "application/x-www-form-urlencoded", strings.NewReader("a=b"), nil, 415, "send application/json"},
		{"unparsable content type", "POST", "/api/v1/torrents", "a/b/c; ===", strings.NewReader("{}"), nil, 415, "bad Content-Type"},
		{"empty body", "POST", "/api/v1/torrents", js, strings.NewReader(""), nil, 400, "request body is empty"},
		{"truncated JSON", "POST", "/api/v1/torrents", js, strings.NewReader(`{"magnet":`), nil, 400, "unexpected end"},
		{"malformed JSON", "POST", "/api/v1/torrents", js, strings.NewReader(`{magnet: 1}`), nil, 400, "malformed JSON at byte"},
		{"array not object", "POST", "/api/v1/torrents", js, strings.NewReader(`[1]`), nil, 400, "want an object"},
		{"unknown field", "POST", "/api/v1/torrents", js, strings.NewReader(`{"magnet":"m","bogus":1}`), nil, 400, `unknown field "bogus"`},
		{"wrong type", "POST", "/api/v1/torrents", js, strings.NewReader(`{"magnet":"m","paused":"yes"}`), nil, 400, `field "paused": want true or false, got string`},
		{"wrong element type", "POST", "/api/v1/torrents", js, strings.NewReader(`{"magnet":"m","files":["a"]}`), nil, 400, `field "files`},
		{"bad base64", "POST", "/api/v1/torrents", js, strings.NewReader(`{"metainfo":"!!!!"}`), nil, 400, "bad base64"},
		{"empty metainfo", "POST", "/api/v1/torrents", js, strings.NewReader(`{"metainfo":""}`), nil, 400, "metainfo is empty"},
		{"two sources", "POST", "/api/v1/torrents", js, strings.NewReader(`{"magnet":"m","url":"http://127.0.0.1/x"}`), nil, 400, "exactly one"},
		{"no source", "POST", "/api/v1/torrents", js, strings.NewReader(`{"paused":true}`), nil, 400, "exactly one"},
		{"trailing data", "POST", "/api/v1/torrents", js, strings.NewReader(`{"magnet":"m"} {}`), nil, 400, "unexpected data after"},
		{"url not http", "POST", "/api/v1/torrents", js, strings.NewReader(`{"url":"file:///etc/passwd"}`), nil, 400, "http:// or https://"},
		{"magnet as url", "POST", "/api/v1/torrents", js, strings.NewReader(`{"url":"magnet:?xt=urn:btih:x"}`), nil, 400, `send it as "magnet"`},
		{"JSON over 64 KiB", "PATCH", "/api/v1/settings", js, strings.NewReader(`{"downloadDir":"` + huge(70<<10) + `"}`), nil, 413, "larger than 64 KiB"},
		{"add JSON over its limit", "POST", "/api/v1/torrents", js, strings.NewReader(`{"magnet":"` + huge(maxAddJSONBody) + `"}`), nil, 413, "larger than"},
		{"raw torrent over 16 MiB", "POST", "/api/v1/torrents", "application/x-bittorrent", bytes.NewReader(make([]byte, 16<<20+1)), nil, 413, "larger than 16 MiB"},
		{"raw torrent empty", "POST", "/api/v1/torrents", "application/x-bittorrent", strings.NewReader(""), nil, 400, "empty"},
		{"raw unknown query", "POST", "/api/v1/torrents?colour=red", "application/x-bittorrent", strings.NewReader("d4:infod"), nil, 400, `unknown field "colour"`},
		{"raw bad paused", "POST", "/api/v1/torrents?paused=maybe", "application/x-bittorrent", strings.NewReader("d4:infod"), nil, 400, "want true or false"},
		{"raw bad files", "POST", "/api/v1/torrents?files=1,x", "application/x-bittorrent", strings.NewReader("d4:infod"), nil, 400, "not a file index"},
		{"raw dir twice", "POST", "/api/v1/torrents?dir=/a&dir=/b", "application/x-bittorrent", strings.NewReader("d4:infod"), nil, 400, "more than once"},
		{"multipart unknown field", "POST", "/api/v1/torrents", formCT, unknownField, nil, 400, `unknown field "bogus"`},
		{"multipart two torrents", "POST", "/api/v1/torrents", formCT2, twoTorrents, nil, 400, "more than one torrent"},
		{"multipart bad paused", "POST", "/api/v1/torrents", formCT3, badPaused, nil, 400, "want true or false"},
		{"multipart big field", "POST", "/api/v1/torrents", formCT4, bigField, nil, 413, "larger than 64 KiB"},
		{"multipart without boundary", "POST", "/api/v1/torrents", "multipart/form-data", strings.NewReader("x"), nil, 400, "bad multipart body"},
		{"patch nothing", "PATCH", "/api/v1/torrents/1", js, strings.NewReader(`{}`), nil, 400, "nothing to change"},
		{"patch unknown nested field", "PATCH", "/api/v1/torrents/1", js, strings.NewReader(`{"options":{"colour":1}}`), nil, 400, `unknown field "colour"`},
		{"patch wrong type", "PATCH", "/api/v1/torrents/1", js, strings.NewReader(`{"queuePos":"first"}`), nil, 400, `field "queuePos": want an integer, got string`},
		{"patch nested wrong type", "PATCH", "/api/v1/torrents/1", js, strings.NewReader(`{"options":{"seedIdle":"2h"}}`), nil, 400, `field "options.seedIdle": want an integer`},
		{"settings wrong type", "PATCH", "/api/v1/settings", js, strings.NewReader(`{"maxSeeds":1.5}`), nil, 400, `field "maxSeeds"`},
		{"peers empty", "POST", "/api/v1/torrents/1/peers", js, strings.NewReader(`{"peers":[]}`), nil, 400, "no peers given"},
		{"peers not JSON", "POST", "/api/v1/torrents/1/peers", "text/plain", strings.NewReader(`1.2.3.4:5`), nil, 415, "send application/json"},
		{"delete_data not a bool", "DELETE", "/api/v1/torrents/1?delete_data=maybe", "", nil, nil, 400, "want true or false"},
		{"no config source", "GET", "/api/v1/config", "", nil, nil, 404, "does not publish"},
		{"cross-site POST", "POST", "/api/v1/torrents/1/pause", "", nil, []string{"Sec-Fetch-Site", "cross-site"}, 403, "cross-origin"},
		{"cross-origin PATCH", "PATCH", "/api/v1/settings", js, strings.NewReader("{}"), []string{"Origin", "http://evil.example"}, 403, "cross-origin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(h, tc.method, tc.path, tc.ct, tc.body, tc.header...)
			if rec.Code != tc.wantCode {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, rec.Code, rec.Body.Bytes(), tc.wantCode)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if msg := errorMessage(t, rec.Body.Bytes()); !strings.Contains(msg, tc.wantMsg) {
				t.Errorf("error %q, want it to contain %q", msg, tc.wantMsg)
			}
			if tc.wantCode == http.StatusMethodNotAllowed && rec.Header().Get("Allow") == "" {
				t.Errorf("405 without an Allow header")
			}
		})
	}
}

func TestHostCheck(t *testing.T) {
	h := NewHandler(Options{Version: VersionInfo{Version: "x"}, AllowedHosts: []string{"hearth.lan"}, Logger: enginetest.Logger(t)})
	tests := []struct {
		host string
		want int
	}{
		{"127.0.0.1:9091", 200},
		{"[::1]:9091", 200},
		{"localhost:9091", 200},
		{"LOCALHOST", 200},
		{"box.localhost:9091", 200},
		{"192.168.1.5:9091", 200},
		{"hearth.lan:9091", 200},
		{"Hearth.LAN.", 200},
		{"evil.example:9091", 421}, // DNS rebinding: a name the daemon does not know
		{"127.0.0.1.evil.example", 421},
	}
	for _, tc := range tests {
		req := httptest.NewRequest("GET", "/api/v1/version", nil)
		req.Host = tc.host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("Host %q: %d %s, want %d", tc.host, rec.Code, rec.Body.Bytes(), tc.want)
		}
	}
}

func TestVersionNeedsNoEngine(t *testing.T) {
	rec := serve(engineless(t, nil), "GET", "/api/v1/version", "", nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"version": "v1.2.3"`) {
		t.Errorf("GET /version = %d %s, want 200 with the version", rec.Code, rec.Body.Bytes())
	}
}

// TestPanicBecomes500 makes a handler panic (the engine is nil) and checks
// that the client gets a generic 500 and the log gets the panic.
func TestPanicBecomes500(t *testing.T) {
	var logs bytes.Buffer
	rec := serve(engineless(t, &logs), "GET", "/api/v1/stats", "", nil)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("GET /stats with no engine = %d, want 500", rec.Code)
	}
	if msg := errorMessage(t, rec.Body.Bytes()); msg != internalMsg {
		t.Errorf("500 message %q, want the generic %q", msg, internalMsg)
	}
	if !strings.Contains(logs.String(), "panic in handler") || !strings.Contains(logs.String(), "nil pointer") {
		t.Errorf("log = %q, want the panic and its cause", logs.String())
	}
}

func TestErrorMapping(t *testing.T) {
	secret := errors.New("open /var/lib/hearth/state/000001.vlog: input/output error")
	tests := []struct {
		err      error
		wantCode int
		wantMsg  string
	}{
		{&engine.InputError{Msg: "bad torrent file", Err: errors.New("missing info")}, 400, "bad torrent file: missing info"},
		{fmt.Errorf("add: %w", &engine.InputError{Msg: "two\nlines"}), 400, "two lines"},
		{fmt.Errorf("%w: id 7", engine.ErrNotFound), 404, "torrent not found"},
		{engine.ErrClosed, 503, "shutting down"},
		{&http.MaxBytesError{Limit: 64 << 10}, 413, "larger than 64 KiB"},
		{errorf(http.StatusTeapot, "short and stout"), 418, "short and stout"},
		{fmt.Errorf("save torrent: %w", secret), 500, internalMsg},
	}
	for _, tc := range tests {
		he := toHTTPError(tc.err)
		if he.Code != tc.wantCode || !strings.Contains(he.Msg, tc.wantMsg) {
			t.Errorf("toHTTPError(%v) = %d %q, want %d %q", tc.err, he.Code, he.Msg, tc.wantCode, tc.wantMsg)
		}
		if strings.Contains(he.Msg, "/var/lib") {
			t.Errorf("toHTTPError(%v) leaks the cause to the client: %q", tc.err, he.Msg)
		}
	}
}
