// Package ui is Hearth's web interface, embedded in the binary: the phone
// and desktop app at /, the 10-foot TV app at /tv, and their assets under
// /ui/. It is plain HTML, CSS and JavaScript (no build step, no CDN, no
// external fonts) talking to the /api/v1 REST API and its event stream.
//
// The pages and assets are public (they hold no data); every API call they
// make goes through the daemon's access control, and the pages show the
// login or pairing screen when the API answers 401.
package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// Policy is the Content-Security-Policy of every UI response: only the
// device's own scripts, styles, images and media; no inline script.
const Policy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

type asset struct {
	body  []byte
	gz    []byte // nil when compressing does not pay
	ctype string
	etag  string
}

// Handler serves the UI. Routes: "/" (phone and desktop app), "/tv" (TV
// app) and "/ui/<file>" (assets). Text assets are gzipped once at start
// and sent compressed to clients that accept it; every response carries an
// ETag and answers 304 to a matching If-None-Match.
func Handler() http.Handler {
	assets := map[string]*asset{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		a := &asset{body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		a.ctype = mime.TypeByExtension(path.Ext(p))
		if a.ctype == "" {
			a.ctype = http.DetectContentType(body)
		}
		if compressible(a.ctype) {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			zw.Write(body)
			zw.Close()
			if buf.Len() < len(body) {
				a.gz = buf.Bytes()
			}
		}
		assets["/ui/"+strings.TrimPrefix(p, "static/")] = a
		return nil
	})
	if err != nil {
		panic("ui: embedded assets: " + err.Error()) // a build defect, not input
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch p {
		case "/", "/index.html":
			p = "/ui/index.html"
		case "/tv", "/tv/":
			p = "/ui/tv.html"
		}
		a := assets[p]
		if a == nil {
			http.Error(w, "404 page not found", http.StatusNotFound)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", Policy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache") // revalidate: an upgrade changes the assets
		h.Set("ETag", a.etag)
		h.Set("Vary", "Accept-Encoding")
		h.Set("Content-Type", a.ctype)
		if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		body := a.body
		if a.gz != nil && acceptsGzip(r) {
			h.Set("Content-Encoding", "gzip")
			body = a.gz
		}
		if r.Method == http.MethodHead {
			h.Set("Content-Length", itoa(len(body)))
			return
		}
		w.Write(body)
	})
}

// Paths reports whether an HTTP path belongs to the UI (for the daemon's
// router and its access control, which lets these through unauthenticated).
func Paths(p string) bool {
	return p == "/" || p == "/index.html" || p == "/tv" || p == "/tv/" || strings.HasPrefix(p, "/ui/")
}

// Sizes returns each asset's size as sent to a browser that accepts gzip,
// by path; the total is what a TV's browser downloads on first load.
func Sizes() map[string]int {
	out := map[string]int{}
	fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, _ := static.ReadFile(p)
		n := len(body)
		if compressible(mime.TypeByExtension(path.Ext(p))) {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			zw.Write(body)
			zw.Close()
			n = min(n, buf.Len())
		}
		out["/ui/"+strings.TrimPrefix(p, "static/")] = n
		return nil
	})
	return out
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "javascript") ||
		strings.Contains(ctype, "json") || strings.Contains(ctype, "svg") || strings.Contains(ctype, "manifest")
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
