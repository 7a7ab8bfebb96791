package ui

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// budget is what a TV's browser downloads on first load, gzipped: the
// issue's goal. The figure is checked here because it is a size, not a
// time.
const budget = 300 << 10

func TestAssetsWithinBudget(t *testing.T) {
	total := 0
	for p, n := range Sizes() {
		total += n
		t.Logf("%-28s %7d B gz", p, n)
	}
	t.Logf("total %d B gz (budget %d)", total, budget)
	if total > budget {
		t.Errorf("UI assets = %d bytes gzipped, want at most %d", total, budget)
	}
}

func TestServe(t *testing.T) {
	h := Handler()
	get := func(path string, hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for _, p := range []string{"/", "/tv", "/ui/index.html", "/ui/tv.html"} {
		w := get(p)
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("GET %s = %d %q, want 200 text/html", p, w.Code, w.Header().Get("Content-Type"))
		}
		if got := w.Header().Get("Content-Security-Policy"); got != Policy {
			t.Errorf("GET %s CSP = %q, want %q", p, got, Policy)
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", p)
		}
	}
	if w := get("/ui/nope.js"); w.Code != 404 {
		t.Errorf("GET /ui/nope.js = %d, want 404", w.Code)
	}
	if w := get("/ui/../ui.go"); w.Code != 404 {
		t.Errorf("GET /ui/../ui.go = %d, want 404", w.Code)
	}

	plain := get("/")
	etag := plain.Header().Get("ETag")
	if w := get("/", "If-None-Match", etag); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Errorf("GET / with its ETag = %d (%d bytes), want 304 and no body", w.Code, w.Body.Len())
	}
	gz := get("/", "Accept-Encoding", "br, gzip")
	if gz.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("GET / with Accept-Encoding gzip: Content-Encoding = %q, want gzip", gz.Header().Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	if !bytes.Equal(body, plain.Body.Bytes()) {
		t.Errorf("gzipped / does not unpack to the plain body")
	}
}
