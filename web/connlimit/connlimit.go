// Package connlimit bounds the connections a server holds open: in all, and
// per client, so that one machine on the LAN (or one visitor of a share
// link) cannot take every connection, and the memory each one costs, from
// the household. Each open HTTP connection holds a goroutine and its
// buffers (about 10 KiB idle: BenchmarkIdleConnMemory); without a bound, a
// stranger opening connections without end takes a 64 MB router's memory.
//
// A connection over a bound is accepted and closed at once, so the kernel's
// listen queue never fills with connections nobody serves: the clients
// under their bound keep being served.
package connlimit

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearth-media/hearth/web/internal/netkey"
)

// Options are the bounds.
type Options struct {
	// Total is the most connections open at once, in all.
	Total int
	// PerClient is the most connections open at once from one client: an
	// IPv4 address, or an IPv6 /64 (a device picks addresses in its /64 at
	// will, so one address would not bound it).
	PerClient int
	// Exempt clients are not held to PerClient (the device itself, on
	// loopback); they count in Total. Nil: nobody is exempt.
	Exempt func(netip.Addr) bool
	// Logger says, at most once a minute, that connections were refused.
	Logger *slog.Logger
}

// Listener is a net.Listener that holds its clients to Options.
type Listener struct {
	net.Listener
	o Options

	mu       sync.Mutex
	open     int
	byClient map[netip.Prefix]int

	refused   atomic.Int64
	lastLogNs atomic.Int64
}

// Listen wraps ln. Total and PerClient must be positive.
func Listen(ln net.Listener, o Options) *Listener {
	if o.Total <= 0 || o.PerClient <= 0 {
		panic("connlimit: Total and PerClient must be positive")
	}
	return &Listener{Listener: ln, o: o, byClient: make(map[netip.Prefix]int)}
}

// Accept returns the next connection within the bounds; the ones over
// them are closed as they come.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key, limited := l.client(c.RemoteAddr())
		if why := l.take(key, limited); why != "" {
			// Counted before the close, so that a client that sees it
			// closed sees it counted.
			l.refuse(key, why)
			c.Close()
			continue
		}
		return &conn{Conn: c, l: l, key: key, limited: limited}, nil
	}
}

// Open is the number of connections open now.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open
}

// Refused is the number of connections refused since Listen.
func (l *Listener) Refused() int64 { return l.refused.Load() }

// client is the key a remote address counts under, and whether it is held
// to PerClient. An address that is not IP (a Unix socket) is one client.
func (l *Listener) client(a net.Addr) (netip.Prefix, bool) {
	var ip netip.Addr
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ = netip.AddrFromSlice(ta.IP)
	} else if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		ip = ap.Addr()
	}
	ip = ip.Unmap().WithZone("")
	return netkey.Client(ip), !ip.IsValid() || l.o.Exempt == nil || !l.o.Exempt(ip)
}

// take counts a connection in, or says which bound it is over.
func (l *Listener) take(key netip.Prefix, limited bool) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open >= l.o.Total {
		return "all connections in use"
	}
	if limited {
		if l.byClient[key] >= l.o.PerClient {
			return "too many connections from one client"
		}
		l.byClient[key]++
	}
	l.open++
	return ""
}

func (l *Listener) release(key netip.Prefix, limited bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if !limited {
		return
	}
	if n := l.byClient[key] - 1; n > 0 {
		l.byClient[key] = n
	} else {
		delete(l.byClient, key)
	}
}

func (l *Listener) refuse(key netip.Prefix, why string) {
	n := l.refused.Add(1)
	if l.o.Logger == nil {
		return
	}
	now := time.Now().UnixNano()
	last := l.lastLogNs.Load()
	if now-last < int64(time.Minute) || !l.lastLogNs.CompareAndSwap(last, now) {
		return
	}
	l.o.Logger.Warn("connection refused: "+why, "client", key.String(), "refusedSinceStart", n,
		"total", l.o.Total, "perClient", l.o.PerClient)
}

// conn gives its slot back when closed, once.
type conn struct {
	net.Conn
	l       *Listener
	key     netip.Prefix
	limited bool
	once    sync.Once
}

// ReadFrom keeps sendfile (net/http serves files through it) behind the
// wrapper.
func (c *conn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key, c.limited) })
	return err
}
