package access

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/hearth-media/hearth/web/internal/netkey"
)

// limiter is a set of token buckets, one per client address, that failed
// attempts (a wrong password, code or token) drain. A client whose bucket
// is empty is refused before anything is checked, so guessing costs the
// guesser time, not the device CPU.
//
// Memory is bounded: at most max addresses have a bucket of their own.
// When the map is full, buckets that have refilled (which carry no
// information) are dropped; if none has, new addresses share one overflow
// bucket. Evicting a drained bucket would hand its owner a fresh one, so
// that never happens.
type limiter struct {
	burst float64       // bucket size: failures allowed in a row
	every time.Duration // one failure forgiven per every
	max   int

	mu       sync.Mutex
	m        map[string]*bucket
	overflow bucket
	sweepAt  time.Time // a full map has no refilled bucket before then
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(burst int, every time.Duration, max int) *limiter {
	return &limiter{burst: float64(burst), every: every, max: max, m: map[string]*bucket{}, overflow: bucket{tokens: float64(burst)}}
}

// refill brings b up to date at now.
func (l *limiter) refill(b *bucket, now time.Time) {
	if b.last.IsZero() {
		b.tokens, b.last = l.burst, now
		return
	}
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(l.burst, b.tokens+float64(el)/float64(l.every))
		b.last = now
	}
}

// get returns key's bucket, refilled to now; the caller holds l.mu.
func (l *limiter) get(key string, now time.Time) *bucket {
	b := l.m[key]
	if b == nil {
		if len(l.m) >= l.max && !now.Before(l.sweepAt) {
			// A flood from new addresses must not cost a scan of the
			// whole map each: scan again only once a bucket can be full.
			next := now.Add(time.Duration(l.burst * float64(l.every)))
			for k, o := range l.m {
				if l.refill(o, now); o.tokens >= l.burst {
					delete(l.m, k)
				} else if at := now.Add(time.Duration((l.burst - o.tokens) * float64(l.every))); at.Before(next) {
					next = at
				}
			}
			l.sweepAt = next
		}
		if len(l.m) >= l.max {
			b = &l.overflow
		} else {
			b = &bucket{}
			l.m[key] = b
		}
	}
	l.refill(b, now)
	return b
}

// allow reports whether key may try now, and if not how long until it may.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(key, now)
	if b.tokens >= 1 {
		return true, 0
	}
	return false, time.Duration((1-b.tokens)*float64(l.every)).Round(time.Second) + time.Second
}

// fail records a failed attempt by key.
func (l *limiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(key, now)
	b.tokens = max(0, b.tokens-1)
}

// size returns how many addresses have a bucket of their own.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// clientKey is the limiter key of an address (netkey.Client): an IPv4
// address, or the /64 of an IPv6 one.
func clientKey(a netip.Addr) string {
	p := netkey.Client(a)
	if p.Addr().Is4() {
		return p.Addr().String()
	}
	return p.String()
}

// ParseClients turns access.clients entries (IP addresses or CIDRs) into
// prefixes; an address is a prefix of its full length.
func ParseClients(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%w: access.clients entry %q is not an IP address or CIDR", ErrInvalid, s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
