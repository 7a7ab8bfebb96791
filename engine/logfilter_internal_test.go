package engine

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countHandler counts the records that reach it.
type countHandler struct{ n atomic.Int64 }

func (h *countHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (h *countHandler) Handle(context.Context, slog.Record) error { h.n.Add(1); return nil }
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler        { return h }
func (h *countHandler) WithGroup(string) slog.Handler             { return h }

// 100,000 distinct messages (a stranger can put its own text in what
// the library logs): the filter keeps at most maxQuietMessages, each
// key short, lets at most burst lines a window through for all the
// messages it has no room for, and a message it was holding back before
// the flood stays held back.
func TestQuietHandlerFlood(t *testing.T) {
	var out countHandler
	h := newQuietHandler(&out, slog.LevelWarn)
	now := time.Unix(1e9, 0)
	h.state.now = func() time.Time { return now }
	log := slog.New(h)
	for range 10 {
		log.Warn("error announcing to DHT")
	}
	if got := out.n.Load(); got != 5 {
		t.Fatalf("10 identical lines let through %d, want 5 (the burst)", got)
	}
	long := strings.Repeat("x", 64<<10)
	const flood = 100_000
	for i := range flood {
		msg := fmt.Sprintf("bad message from peer %d", i)
		if i%100 == 0 {
			msg += ": " + long
		}
		log.Warn(msg)
	}
	st := h.state
	st.mu.Lock()
	n, keyBytes := len(st.seen), 0
	for k := range st.seen {
		keyBytes += len(k)
	}
	st.mu.Unlock()
	if n > maxQuietMessages || keyBytes > maxQuietMessages*maxQuietKeyLen {
		t.Errorf("filter holds %d messages in %d bytes of keys, want at most %d in %d", n, keyBytes, maxQuietMessages, maxQuietMessages*maxQuietKeyLen)
	}
	if got, most := out.n.Load()-5, int64(maxQuietMessages*5+5); got > most {
		t.Errorf("a flood of %d distinct lines let %d through, want at most %d", flood, got, most)
	}
	before := out.n.Load()
	log.Warn("error announcing to DHT")
	if out.n.Load() != before {
		t.Error("a line held back before the flood got through after it")
	}
	now = now.Add(time.Minute + time.Second)
	log.Warn("error announcing to DHT")
	if out.n.Load() != before+1 {
		t.Error("a minute later the line is still held back")
	}
}
