package sharepage

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	eshare "github.com/hearth-media/hearth/engine/share"
	"github.com/hearth-media/hearth/engine/store"
	"github.com/hearth-media/hearth/engine/thumb"
	"github.com/hearth-media/hearth/web/internal/webtest"
)

// A guesser that floods the limiter from 100,000 other addresses does
// not get its own limit back: its window stays, the table stays at its
// cap, and the flood shares one overflow window. Once windows end, a new
// address gets its own again. The guesser comes over real HTTP on
// loopback; the flood goes straight into the handler with its addresses
// set (100,000 loopback connections would take minutes).
func TestGuessLimitSurvivesFlood(t *testing.T) {
	st, err := store.Open(store.Options{Backend: store.BackendMemory})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	th, err := thumb.New(thumb.Options{Dir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		now = time.Unix(1e9, 0)
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	shares := eshare.New(st, nil)
	h := NewHandler(Options{Shares: shares, Channels: folderChannels{}, Torrents: torrents{}, Thumbs: th,
		GuessLimit: 5, GuessWindow: time.Minute, Now: clock}).(*handler)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	get := func(path string) int {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	guess := func(i int) string { return fmt.Sprintf("/s/guess%020d", i) }

	for i := range 5 {
		if code := get(guess(i)); code != http.StatusNotFound {
			t.Fatalf("guess %d = %d, want 404", i, code)
		}
	}
	// The first 10,000 through the handler, the rest straight into its
	// limiter (each request renders a page: 100,000 take a minute on a
	// busy test machine).
	const flood, viaHandler = 100_000, 10_000
	for i := range flood {
		if i >= viaHandler {
			h.guesses.fail(webtest.FloodAddr(i))
			continue
		}
		r := httptest.NewRequest(http.MethodGet, guess(i), nil)
		r.RemoteAddr = netip.AddrPortFrom(webtest.FloodAddr(i), 40000).String()
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	if n := h.guesses.size(); n != maxEntries {
		t.Errorf("limiter tracks %d addresses after a flood from %d, want %d", n, flood, maxEntries)
	}
	if code := get(guess(flood)); code != http.StatusTooManyRequests {
		t.Errorf("the guesser after a flood from %d other addresses = %d, want 429", flood, code)
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	r := httptest.NewRequest(http.MethodGet, guess(0), nil)
	r.RemoteAddr = "[2001:db8:9::1]:1"
	h.ServeHTTP(httptest.NewRecorder(), r)
	if n := h.guesses.size(); n != 1 {
		t.Errorf("a minute later the limiter tracks %d addresses, want 1 (the windows ended)", n)
	}
	if code := get(guess(1)); code != http.StatusNotFound {
		t.Errorf("the guesser a minute later = %d, want 404 (a new window)", code)
	}
}
