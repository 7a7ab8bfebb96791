package access

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/hearth-media/hearth/web/internal/webtest"
)

// A guesser that used up its tries floods the limiter with wrong tokens
// from 100,000 other addresses, to have its bucket evicted: the map
// stays at its cap, the guesser's /64 stays refused, and once buckets
// have refilled a new address gets a bucket of its own again.
func TestLimiterSurvivesFlood(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	bad, _ := newToken()
	guesser := netip.MustParseAddr("2001:db8:66::1")
	for range clientBurst {
		if _, err := f.c.Authenticate(ctx, guesser, Credentials{Token: bad}); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("wrong token = %v, want ErrBadCredentials", err)
		}
	}
	const flood = 100_000
	for i := range flood {
		f.c.Authenticate(ctx, webtest.FloodAddr(i), Credentials{Token: bad})
	}
	if n := f.c.clients.size(); n != maxTracked {
		t.Errorf("limiter tracks %d addresses after a flood from %d, want %d", n, flood, maxTracked)
	}
	_, err := f.c.Authenticate(ctx, netip.MustParseAddr("2001:db8:66::ffff"), Credentials{Token: bad})
	if _, ok := IsRateLimited(err); !ok {
		t.Errorf("the guesser's /64 after a flood from %d other addresses: %v, want rate-limited", flood, err)
	}
	f.clk.Add(clientBurst * clientEvery)
	if _, err := f.c.Authenticate(ctx, netip.MustParseAddr("192.0.2.1"), Credentials{Token: bad}); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("a new address once buckets refilled: %v, want ErrBadCredentials", err)
	}
	if n := f.c.clients.size(); n != 1 {
		t.Errorf("limiter tracks %d addresses once buckets refilled, want 1", n)
	}
}
