package link

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestFetch(t *testing.T) {
	torrent := torrentFile(t, baseInfo())
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/ok.torrent", func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Accept"); !strings.Contains(got, "application/x-bittorrent") {
			t.Errorf("Accept = %q, want application/x-bittorrent", got)
		}
		w.Header().Set("Content-Type", "text/plain") // not trusted either way
		w.Write(torrent)
	})
	mux.HandleFunc("/missing", http.NotFound)
	mux.HandleFunc("/big-declared", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(MaxTorrentSize+1))
		w.Write([]byte("d"))
	})
	mux.HandleFunc("/big-chunked", func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("d"), 1<<20)
		for i := 0; i < MaxTorrentSize>>20+2; i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/redirect-ok", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok.torrent", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/to-file", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "file:///etc/passwd")
		w.WriteHeader(http.StatusFound)
	})
	magnet := "magnet:?xt=urn:btih:" + hexIH + "&dn=a%20b"
	mux.HandleFunc("/to-magnet", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", magnet)
		w.WriteHeader(http.StatusFound)
	})
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<html>login</html>"))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	srv := httptest.NewServer(mux) // 127.0.0.1
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close

	ctx := context.Background()
	t.Run("ok", func(t *testing.T) {
		for _, path := range []string{"/ok.torrent", "/redirect-ok", "/ok.torrent?apikey=secret"} {
			b, err := Fetch(ctx, srv.Client(), srv.URL+path)
			if err != nil || !bytes.Equal(b, torrent) {
				t.Fatalf("Fetch(%s) = %d bytes, %v; want the torrent", path, len(b), err)
			}
			if _, err := ParseTorrent(b); err != nil {
				t.Fatalf("ParseTorrent(fetched) = %v", err)
			}
		}
	})
	t.Run("nil client", func(t *testing.T) {
		if _, err := Fetch(ctx, nil, srv.URL+"/ok.torrent"); err != nil {
			t.Fatalf("Fetch(nil client) = %v", err)
		}
	})
	t.Run("magnet redirect", func(t *testing.T) {
		_, err := Fetch(ctx, srv.Client(), srv.URL+"/to-magnet")
		var mr *MagnetRedirectError
		if !errors.As(err, &mr) || mr.Magnet != magnet {
			t.Fatalf("Fetch(/to-magnet) = %v, want *MagnetRedirectError{%q}", err, magnet)
		}
		if _, err := ParseMagnet(mr.Magnet); err != nil {
			t.Errorf("ParseMagnet(redirect target) = %v", err)
		}
	})
	bad := []struct {
		name, url string
		sentinel  error
	}{
		{"404", srv.URL + "/missing", nil},
		{"too big (Content-Length)", srv.URL + "/big-declared", ErrTooLarge},
		{"too big (chunked)", srv.URL + "/big-chunked", ErrTooLarge},
		{"redirect loop", srv.URL + "/loop", nil},
		{"redirect to file:", srv.URL + "/to-file", ErrUnsupportedScheme},
		{"web page", srv.URL + "/page?apikey=secret", nil},
		{"file scheme", "file:///etc/passwd", ErrUnsupportedScheme},
		{"ftp scheme", "ftp://127.0.0.1/x.torrent", ErrUnsupportedScheme},
		{"no scheme", "127.0.0.1/x.torrent", ErrUnsupportedScheme},
		{"no host", "http:///x.torrent", nil},
		{"bad URL", "http://[::1/x", nil},
		{"magnet given", "magnet:?xt=urn:btih:" + hexIH, ErrUnsupportedScheme},
		{"too long", "http://127.0.0.1/" + strings.Repeat("a", maxURLLen), ErrTooLarge},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Fetch(ctx, srv.Client(), tt.url)
			if err == nil {
				t.Fatalf("Fetch(%s) = %d bytes, nil; want an error", clip(tt.url), len(b))
			}
			wantErr(t, "Fetch", err, tt.sentinel)
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the URL's query", err)
			}
			t.Logf("%v", err)
		})
	}
	t.Run("slow server, context deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		_, err := Fetch(ctx, srv.Client(), srv.URL+"/slow?apikey=secret")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Fetch(/slow) = %v, want context.DeadlineExceeded", err)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("error %q shows the URL's query", err)
		}
		var le *Error
		if errors.As(err, &le) {
			t.Errorf("a timeout is not bad input, got *Error")
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		url := dead.URL + "/x.torrent"
		dead.Close()
		_, err := Fetch(ctx, nil, url)
		if err == nil {
			t.Fatal("Fetch(closed server) = nil error")
		}
	})
}
