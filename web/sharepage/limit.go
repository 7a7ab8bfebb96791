package sharepage

import (
	"net/netip"
	"sync"
	"time"
)

// limiter counts failures per address (IPv6 by /64) in fixed windows.
// It holds at most maxEntries addresses; when full, expired entries go
// first, then everything (a flood of addresses forgets, never grows).
type limiter struct {
	limit  int
	window time.Duration
	now    func() time.Time

	mu sync.Mutex
	m  map[netip.Addr]*window
}

type window struct {
	start time.Time
	n     int
}

const maxEntries = 4096

func newLimiter(limit int, w time.Duration, now func() time.Time) *limiter {
	return &limiter{limit: limit, window: w, now: now, m: map[netip.Addr]*window{}}
}

func limitKey(ip netip.Addr) netip.Addr {
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

func (l *limiter) blocked(ip netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.m[limitKey(ip)]
	return w != nil && l.now().Sub(w.start) < l.window && w.n >= l.limit
}

func (l *limiter) fail(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	k := limitKey(ip)
	w := l.m[k]
	if w == nil || now.Sub(w.start) >= l.window {
		if len(l.m) >= maxEntries {
			for a, e := range l.m {
				if now.Sub(e.start) >= l.window {
					delete(l.m, a)
				}
			}
			if len(l.m) >= maxEntries {
				clear(l.m)
			}
		}
		w = &window{start: now}
		l.m[k] = w
	}
	w.n++
}
