package web

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// A client that opens event streams without end gets MaxEventStreams of
// them, then 503 with Retry-After, and the hub holds no more; once one
// closes, a new stream is let in.
func TestEventsStreamsBounded(t *testing.T) {
	var hub *Events
	d := startDaemon(t, func(o *Options) {
		hub = NewEvents(EventsOptions{Source: o.Engine})
		o.Events = hub
	})
	open := func() (*http.Response, context.CancelFunc) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", d.URL+"/api/v1/events", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		t.Cleanup(func() { cancel(); resp.Body.Close() })
		return resp, cancel
	}
	var first context.CancelFunc
	for i := range MaxEventStreams {
		resp, cancel := open()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream %d = %d, want 200", i, resp.StatusCode)
		}
		if i == 0 {
			first = cancel
		}
	}
	for i := range 100 {
		resp, cancel := open()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("stream %d past the limit = %d (Retry-After %q), want 503 with Retry-After", MaxEventStreams+i, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		cancel()
	}
	if n := hub.Subscribers(); n != MaxEventStreams {
		t.Errorf("Subscribers = %d, want %d", n, MaxEventStreams)
	}
	first()
	deadline := time.Now().Add(20 * time.Second) // catches hangs; not a speed test
	for hub.Subscribers() == MaxEventStreams {
		if time.Now().After(deadline) {
			t.Fatal("a closed stream still counts after 20 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if resp, _ := open(); resp.StatusCode != http.StatusOK {
		t.Errorf("a stream after one closed = %d, want 200", resp.StatusCode)
	}
}
