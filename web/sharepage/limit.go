package sharepage

import (
	"net/netip"
	"sync"
	"time"

	"github.com/hearth-media/hearth/web/internal/netkey"
)

// limiter counts failures per address (IPv6 by /64) in fixed windows.
//
// It holds at most max addresses. When full, windows that have ended go
// first; if none has, new addresses share one overflow window. An
// address whose window is still running is never forgotten: forgetting
// (as clearing the table did) would let a guesser that floods the table
// from other addresses start afresh.
type limiter struct {
	limit  int
	window time.Duration
	max    int
	now    func() time.Time

	mu       sync.Mutex
	m        map[netip.Addr]*window
	overflow window
	sweepAt  time.Time // a full table has nothing to drop before then
}

type window struct {
	start time.Time
	n     int
}

const maxEntries = 4096

func newLimiter(limit int, w time.Duration, now func() time.Time) *limiter {
	return &limiter{limit: limit, window: w, max: maxEntries, now: now, m: map[netip.Addr]*window{}}
}

func limitKey(ip netip.Addr) netip.Addr { return netkey.Client(ip).Addr() }

// get returns ip's window, making room or falling back to the overflow
// window when create is set and the table is full; nil if ip has none.
// The caller holds l.mu.
func (l *limiter) get(ip netip.Addr, now time.Time, create bool) *window {
	k := limitKey(ip)
	if w := l.m[k]; w != nil {
		return w
	}
	if len(l.m) >= l.max && !now.Before(l.sweepAt) {
		oldest := now
		for a, e := range l.m {
			if now.Sub(e.start) >= l.window {
				delete(l.m, a)
			} else if e.start.Before(oldest) {
				oldest = e.start
			}
		}
		l.sweepAt = oldest.Add(l.window)
	}
	if len(l.m) >= l.max {
		return &l.overflow
	}
	if !create {
		return nil
	}
	w := &window{start: now}
	l.m[k] = w
	return w
}

func (l *limiter) blocked(ip netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	w := l.get(ip, now, false)
	return w != nil && now.Sub(w.start) < l.window && w.n >= l.limit
}

func (l *limiter) fail(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	w := l.get(ip, now, true)
	if now.Sub(w.start) >= l.window {
		w.start, w.n = now, 0
	}
	w.n++
}

// size returns how many addresses have a window of their own.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
