package engine

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// quietHandler wraps the engine library's logger: it drops records below
// min and lets each distinct message through at most burst times per
// window. Offline, anacrolix/torrent can log hundreds of thousands of
// identical lines a minute (DHT announce errors); a device's flash and the
// UI's log ring must not pay for that.
type quietHandler struct {
	next  slog.Handler
	min   slog.Level
	state *quietState
}

type quietState struct {
	mu     sync.Mutex
	window time.Duration
	burst  int
	seen   map[string]*quietCount
	now    func() time.Time
}

type quietCount struct {
	start   time.Time
	n       int
	dropped int
}

func newQuietHandler(next slog.Handler, min slog.Level) *quietHandler {
	return &quietHandler{next: next, min: min, state: &quietState{
		window: time.Minute, burst: 5, seen: make(map[string]*quietCount), now: time.Now,
	}}
}

func (h *quietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.next.Enabled(ctx, l)
}

func (h *quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < h.min {
		return nil
	}
	dropped, ok := h.state.allow(r.Message)
	if !ok {
		return nil
	}
	if dropped > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed", dropped))
	}
	return h.next.Handle(ctx, r)
}

func (s *quietState) allow(msg string) (dropped int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	c := s.seen[msg]
	if c == nil {
		if len(s.seen) > 1000 { // bound the map: forget everything rather than grow
			clear(s.seen)
		}
		c = &quietCount{start: now}
		s.seen[msg] = c
	}
	if now.Sub(c.start) > s.window {
		dropped = c.dropped
		c.start, c.n, c.dropped = now, 0, 0
	}
	if c.n >= s.burst {
		c.dropped++
		return 0, false
	}
	c.n++
	return dropped, true
}

func (h *quietHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &quietHandler{next: h.next.WithAttrs(attrs), min: h.min, state: h.state}
}

func (h *quietHandler) WithGroup(name string) slog.Handler {
	return &quietHandler{next: h.next.WithGroup(name), min: h.min, state: h.state}
}
