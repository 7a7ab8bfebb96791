package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine"
)

type sseEvent struct {
	Name string
	Data string
}

// openEvents connects to GET /api/v1/events and returns its events.
func openEvents(t *testing.T, url string) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/api/v1/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		t.Fatalf("GET /api/v1/events = %d %s, want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan sseEvent, 100)
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); resp.Body.Close(); <-done })
	go func() {
		defer close(done)
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Name != "" {
					select {
					case out <- ev:
					case <-ctx.Done():
						return
					}
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.Name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.Data += line[len("data: "):]
			}
		}
	}()
	return out
}

// nextEvent waits for an event named name that pass accepts.
func nextEvent(t *testing.T, c <-chan sseEvent, name string, pass func(string) bool) string {
	t.Helper()
	deadline := time.After(20 * time.Second) // catches hangs; not a speed test
	for {
		select {
		case ev, ok := <-c:
			if !ok {
				t.Fatalf("event stream ended while waiting for %s", name)
			}
			if ev.Name == name && (pass == nil || pass(ev.Data)) {
				return ev.Data
			}
		case <-deadline:
			t.Fatalf("no %s event within 20 s", name)
		}
	}
}

func TestEventsStream(t *testing.T) {
	var hub *Events
	d := startDaemon(t, func(o *Options) {
		hub = NewEvents(EventsOptions{Source: o.Engine})
		o.Events = hub
	})
	dl := filepath.Join(d.Dir, "downloads")
	tt := makeTorrent(t, dl, "events", 100<<10)

	evs := openEvents(t, d.URL)
	var te torrentsEvent
	json.Unmarshal([]byte(nextEvent(t, evs, "torrents", nil)), &te)
	if !te.Full || len(te.Torrents) != 0 {
		t.Fatalf("first torrents event = %+v, want full and empty", te)
	}
	nextEvent(t, evs, "stats", func(s string) bool { return strings.Contains(s, `"torrents":0`) })

	var added addResult
	d.json("POST", "/api/v1/torrents", map[string]any{"metainfo": tt.Metainfo}, http.StatusCreated, &added)
	nextEvent(t, evs, "torrents", func(s string) bool {
		var te torrentsEvent
		if json.Unmarshal([]byte(s), &te) != nil || te.Full {
			return false
		}
		for _, raw := range te.Torrents {
			var tor engine.Torrent
			if json.Unmarshal(raw, &tor) == nil && tor.ID == added.ID && tor.InfoHash == tt.InfoHash {
				return true
			}
		}
		return false
	})

	// A second page gets everything at once.
	evs2 := openEvents(t, d.URL)
	json.Unmarshal([]byte(nextEvent(t, evs2, "torrents", nil)), &te)
	if !te.Full || len(te.Torrents) != 1 {
		t.Errorf("second stream's first event = %d torrents, full %v, want the one, full", len(te.Torrents), te.Full)
	}
	if n := hub.Subscribers(); n != 2 {
		t.Errorf("Subscribers = %d, want 2", n)
	}

	hub.Notify(EventChannels)
	nextEvent(t, evs, "channels", nil)
	hub.Notify(EventLibrary)
	nextEvent(t, evs2, "library", nil)

	d.json("DELETE", fmt.Sprintf("/api/v1/torrents/%d", added.ID), nil, http.StatusOK, nil)
	nextEvent(t, evs, "torrents", func(s string) bool {
		var te torrentsEvent
		return json.Unmarshal([]byte(s), &te) == nil && len(te.Removed) == 1 && te.Removed[0] == added.ID
	})
}

func TestEventsNeedAuth(t *testing.T) {
	e := newAuthEnv(t)
	e.expect(e.req("GET", "/api/v1/events", lanAddr, nil), 401, "GET /events from the LAN without credentials")
	e.expect(e.req("GET", "/api/v1/events", lanAddr, nil, "Cookie", sessionCookie+"=hth_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), 401, "GET /events with an unknown session")
}

// countingSource counts how often the hub asks the engine.
type countingSource struct {
	EventSource
	lists atomic.Int64
}

func (c *countingSource) List() []engine.Torrent {
	c.lists.Add(1)
	return c.EventSource.List()
}

// TestEventsOnePoller: many subscribers share one poll of the engine, and
// the polling stops with the last subscriber.
func TestEventsOnePoller(t *testing.T) {
	e, _ := startEngine(t)
	src := &countingSource{EventSource: e}
	const every = 50 * time.Millisecond
	hub := NewEvents(EventsOptions{Source: src, Every: every})
	const n = 8
	var subs []*subscriber
	for range n {
		s := hub.subscribe()
		subs = append(subs, s)
		go func() {
			for range s.c {
			}
		}()
	}
	start := time.Now()
	time.Sleep(20 * every)
	polls := int64(time.Since(start)/every) + 1
	// One poll per interval, plus at most one per subscriber's first list;
	// a poller per subscriber would be n times the intervals.
	if got, max := src.lists.Load(), polls+n; got > max {
		t.Errorf("engine List calls = %d for %d subscribers over %d intervals, want at most %d", got, n, polls, max)
	}
	for _, s := range subs {
		hub.unsubscribe(s)
	}
	time.Sleep(2 * every) // a poll already under way may finish
	after := src.lists.Load()
	time.Sleep(5 * every)
	if got := src.lists.Load(); got != after {
		t.Errorf("engine List calls went from %d to %d with no subscriber, want no polling", after, got)
	}
}

// TestEventsSlowSubscriber: a subscriber that never reads is dropped once
// its queue is full; the others go on.
func TestEventsSlowSubscriber(t *testing.T) {
	e, _ := startEngine(t)
	hub := NewEvents(EventsOptions{Source: e, Every: 5 * time.Millisecond, Queue: 4})
	stalled := hub.subscribe()
	reader := hub.subscribe()
	var got atomic.Int64
	go func() {
		for range reader.c {
			got.Add(1)
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for hub.Subscribers() == 2 && time.Now().Before(deadline) {
		hub.Notify(EventChannels)
		time.Sleep(time.Millisecond)
	}
	if n := hub.Subscribers(); n != 1 {
		t.Fatalf("Subscribers = %d, want 1 (the stalled one dropped)", n)
	}
	queued := 0
	for range stalled.c { // closed when dropped
		queued++
	}
	if queued > 4 {
		t.Errorf("stalled subscriber had %d messages queued, want at most 4", queued)
	}
	before := got.Load()
	for range 50 {
		hub.Notify(EventLibrary)
		time.Sleep(2 * time.Millisecond)
		if got.Load() > before {
			break
		}
	}
	if got.Load() == before {
		t.Error("the reading subscriber got nothing after the stalled one was dropped")
	}
	hub.unsubscribe(reader)
}
