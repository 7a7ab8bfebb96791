package engine

import (
	"context"
	"log/slog"
	"strings"
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
	mu       sync.Mutex
	window   time.Duration
	burst    int
	seen     map[string]*quietCount
	overflow quietCount // messages past maxQuietMessages share it
	sweepAt  time.Time  // a full seen has no ended window before then
	now      func() time.Time
}

// Bounds of quietState: messages carry what peers and DHT nodes send
// (addresses, names), so a stranger can make every one new. Forgetting
// all when full (as before) let such a flood through unlimited, and long
// messages were kept whole.
const (
	maxQuietMessages = 1000
	maxQuietKeyLen   = 160 // longer messages are counted by their start
)

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
	key := msg
	if len(key) > maxQuietKeyLen {
		key = key[:maxQuietKeyLen]
	}
	c := s.seen[key]
	if c == nil {
		if len(s.seen) >= maxQuietMessages && !now.Before(s.sweepAt) {
			oldest := now
			for k, o := range s.seen {
				if now.Sub(o.start) > s.window {
					delete(s.seen, k)
				} else if o.start.Before(oldest) {
					oldest = o.start
				}
			}
			s.sweepAt = oldest.Add(s.window + time.Nanosecond)
		}
		if len(s.seen) >= maxQuietMessages {
			c = &s.overflow
		} else {
			c = &quietCount{start: now}
			s.seen[strings.Clone(key)] = c // not a slice of a long message
		}
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
