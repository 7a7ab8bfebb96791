package lan

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/hearth-media/hearth/web/internal/netkey"
)

// Limits of the endpoint. A neighbour asks once per channel it shares
// with this device when this device's stamp changes, and on each poll:
// a handful of requests now and then. The limits stop a LAN host from
// making the device verify signatures in a loop.
const (
	perAddrBurst = 30
	perAddrRate  = 5 // requests per second, per client address
	totalBurst   = 100
	totalRate    = 50 // requests per second, all clients together
	maxTracked   = 256
)

// Handler returns the read-only endpoint GET ItemsPath{token-hex}: the
// item this device holds for the channel the query token stands for, and
// its peer port; 404 when it holds none. It needs no credentials (the
// daemon lets it through without): only a device that knows the channel's
// target can make the token, and the answer is what anyone who knows the
// target can get from the public DHT. Requests are rate-limited per
// client address and in total (429). The same handler answers POST
// PeersPath, the torrents' question (peers.go), with its own limits.
func (s *Source) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == PeersPath {
			s.servePeers(w, r)
			return
		}
		s.serveItem(w, r)
	})
}

func (s *Source) serveItem(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSONError(w, http.StatusMethodNotAllowed, "only GET")
		return
	}
	if ok, retry := s.limit.allow(clientAddr(r), time.Now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds()+0.999)))
		writeJSONError(w, http.StatusTooManyRequests, "too many requests")
		return
	}
	rest, ok := cutPrefix(r.URL.Path, ItemsPath)
	token, valid := parseToken(rest)
	if !ok || !valid || r.URL.RawQuery != "" {
		writeJSONError(w, http.StatusBadRequest, "want "+ItemsPath+"<64 lowercase hex digits of a query token>")
		return
	}
	it, ok := s.itemByToken(token)
	if !ok {
		writeJSONError(w, http.StatusNotFound, "not held here")
		return
	}
	port := 0
	if s.o.PeerPort != nil {
		port = s.o.PeerPort()
	}
	b, err := json.Marshal(toWire(it, port))
	if err != nil {
		writeJSONError(w, http.StatusInternalServerError, "encode item")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(append(b, '\n'))
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || s[:len(prefix)] != prefix {
		return "", false
	}
	return s[len(prefix):], true
}

func writeJSONError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Write(append(b, '\n'))
}

// clientAddr is the caller's address from the connection, never from a
// header.
func clientAddr(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	return netip.IPv4Unspecified()
}

// limiter is a token bucket per client plus one for everyone. A client is
// an IPv4 address or an IPv6 /64 (a LAN host picks addresses in its /64 at
// will). It tracks at most maxTracked clients; past that, new ones share
// one bucket (a LAN has far fewer hosts; a flood of spoofed sources over
// TCP is not possible).
type limiter struct {
	mu      sync.Mutex
	total   *rate.Limiter
	addrs   map[netip.Prefix]*addrLimit
	overflw *rate.Limiter
}

type addrLimit struct {
	l    *rate.Limiter
	seen time.Time
}

func newLimiter() *limiter {
	return &limiter{
		total:   rate.NewLimiter(totalRate, totalBurst),
		addrs:   map[netip.Prefix]*addrLimit{},
		overflw: rate.NewLimiter(perAddrRate, perAddrBurst),
	}
}

// allow takes a token for addr; when it cannot, it says how long until
// one is there.
func (l *limiter) allow(addr netip.Addr, now time.Time) (bool, time.Duration) {
	key := netkey.Client(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	al := l.addrs[key]
	if al == nil {
		if len(l.addrs) >= maxTracked {
			for a, x := range l.addrs {
				if now.Sub(x.seen) > time.Minute {
					delete(l.addrs, a)
				}
			}
		}
		if len(l.addrs) < maxTracked {
			al = &addrLimit{l: rate.NewLimiter(perAddrRate, perAddrBurst)}
			l.addrs[key] = al
		}
	}
	lim := l.overflw
	if al != nil {
		al.seen = now
		lim = al.l
	}
	if !lim.AllowN(now, 1) {
		return false, time.Second / perAddrRate
	}
	if !l.total.AllowN(now, 1) {
		return false, time.Second / totalRate
	}
	return true, 0
}
