package connlimit

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"
)

// serve runs a real HTTP server on loopback behind Listen(o).
func serve(t *testing.T, o Options) (*Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Listen(ln, o)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l, ln.Addr().String()
}

// client is one keep-alive connection from the source address from.
type client struct {
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr, from string) *client {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, from, err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{c: c, br: bufio.NewReader(c)}
}

// get sends one request on the connection: nil when it was answered 200,
// the error when the server closed the connection instead.
func (c *client) get() error {
	c.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c.c, "GET / HTTP/1.1\r\nHost: device\r\n\r\n"); err != nil {
		return err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "hello" {
		return fmt.Errorf("answer %d %q", resp.StatusCode, b)
	}
	return nil
}

// waitOpen waits until the listener counts n open connections (the
// server notices a client's close when its read ends).
func waitOpen(t *testing.T, l *Listener, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); l.Open() != n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("open connections = %d, want %d", l.Open(), n)
		}
	}
}

func TestPerClient(t *testing.T) {
	l, addr := serve(t, Options{Total: 100, PerClient: 3})
	var held []*client
	for i := range 3 {
		c := dial(t, addr, "127.0.0.2")
		if err := c.get(); err != nil {
			t.Fatalf("connection %d from 127.0.0.2: %v, want served", i+1, err)
		}
		held = append(held, c)
	}
	for i := range 2 {
		if err := dial(t, addr, "127.0.0.2").get(); err == nil {
			t.Fatalf("connection %d from 127.0.0.2 (PerClient 3) served, want closed", 4+i)
		}
	}
	if n := l.Refused(); n != 2 {
		t.Errorf("Refused() = %d, want 2", n)
	}
	// Another client is not held back by the first.
	if err := dial(t, addr, "127.0.0.3").get(); err != nil {
		t.Errorf("first connection from 127.0.0.3: %v, want served", err)
	}
	// The held connections still work, and a closed one frees its slot.
	for i, c := range held {
		if err := c.get(); err != nil {
			t.Errorf("held connection %d: %v", i+1, err)
		}
	}
	held[0].c.Close()
	waitOpen(t, l, 3)
	if err := dial(t, addr, "127.0.0.2").get(); err != nil {
		t.Errorf("connection from 127.0.0.2 after one closed: %v, want served", err)
	}
}

func TestTotal(t *testing.T) {
	var logs bytes.Buffer
	l, addr := serve(t, Options{Total: 4, PerClient: 10, Exempt: func(a netip.Addr) bool { return a.IsLoopback() },
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	var held []*client
	for i := range 4 {
		c := dial(t, addr, fmt.Sprintf("127.0.0.%d", 1+i%2))
		if err := c.get(); err != nil {
			t.Fatalf("connection %d: %v, want served", i+1, err)
		}
		held = append(held, c)
	}
	for _, from := range []string{"127.0.0.1", "127.0.0.5", "127.0.0.6"} {
		if err := dial(t, addr, from).get(); err == nil {
			t.Fatalf("connection from %s with Total 4 in use served, want closed", from)
		}
	}
	if n := l.Refused(); n != 3 {
		t.Errorf("Refused() = %d, want 3", n)
	}
	if got := strings.Count(logs.String(), "connection refused: all connections in use"); got != 1 {
		t.Errorf("log has %d refusal lines, want 1 (at most one a minute):\n%s", got, logs.String())
	}
	held[3].c.Close()
	waitOpen(t, l, 3)
	if err := dial(t, addr, "127.0.0.6").get(); err != nil {
		t.Errorf("connection after one closed: %v, want served", err)
	}
}

// Exempt clients (the device itself) pass PerClient but count in Total.
func TestExempt(t *testing.T) {
	l, addr := serve(t, Options{Total: 6, PerClient: 2, Exempt: func(a netip.Addr) bool { return a == netip.MustParseAddr("127.0.0.1") }})
	for i := range 5 {
		if err := dial(t, addr, "127.0.0.1").get(); err != nil {
			t.Fatalf("exempt connection %d: %v, want served", i+1, err)
		}
	}
	if err := dial(t, addr, "127.0.0.2").get(); err != nil {
		t.Fatalf("connection from 127.0.0.2: %v, want served", err)
	}
	if err := dial(t, addr, "127.0.0.1").get(); err == nil {
		t.Fatalf("7th connection with Total 6 served, want closed")
	}
	if n := l.Open(); n != 6 {
		t.Errorf("Open() = %d, want 6", n)
	}
}

func TestClientKey(t *testing.T) {
	l := Listen(nil, Options{Total: 1, PerClient: 1, Exempt: func(a netip.Addr) bool { return a.IsLoopback() }})
	tests := []struct {
		addr    net.Addr
		key     string
		limited bool
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.168.1.20"), Port: 5000}, "192.168.1.20/32", true},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.168.1.20"), Port: 5000}, "192.168.1.20/32", true},
		// Two privacy addresses of one phone: one client.
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:aaaa::1"), Port: 5000}, "2001:db8:1:2::/64", true},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:bbbb::7"), Port: 5000}, "2001:db8:1:2::/64", true},
		{&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 5000, Zone: "eth0"}, "fe80::/64", true},
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 5000}, "127.0.0.1/32", false},
		{&net.UnixAddr{Name: "/run/hearth.sock", Net: "unix"}, "invalid Prefix", true},
	}
	for _, tt := range tests {
		key, limited := l.client(tt.addr)
		if key.String() != tt.key || limited != tt.limited {
			t.Errorf("client(%v) = %s, %v; want %s, %v", tt.addr, key, limited, tt.key, tt.limited)
		}
	}
}

// The per-client table holds only clients with connections open: a
// flood from many addresses leaves nothing behind.
func TestNothingLeftBehind(t *testing.T) {
	l, addr := serve(t, Options{Total: 100, PerClient: 2})
	for i := range 50 {
		c := dial(t, addr, fmt.Sprintf("127.0.1.%d", 1+i))
		if err := c.get(); err != nil {
			t.Fatal(err)
		}
		c.c.Close()
	}
	waitOpen(t, l, 0)
	l.mu.Lock()
	n := len(l.byClient)
	l.mu.Unlock()
	if n != 0 {
		t.Errorf("%d clients in the table with no connection open, want 0", n)
	}
}

// BenchmarkIdleConnMemory is what one idle keep-alive HTTP connection
// costs the server (heap and goroutine stacks, after a request): the
// figure behind the bounds in cmd/hearth. b.N is ignored beyond one
// round of 200 connections.
func BenchmarkIdleConnMemory(b *testing.B) {
	const n = 200
	for b.Loop() {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		l := Listen(ln, Options{Total: n, PerClient: n})
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })}
		go srv.Serve(l)
		before := serverMemory()
		var cs []net.Conn
		for range n {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			// No buffered reader on the client side: what stays in this
			// process for it is its net.Conn (a few hundred bytes).
			if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: device\r\n\r\n"); err != nil {
				b.Fatal(err)
			}
			var buf [512]byte
			got := 0
			for !bytes.HasSuffix(buf[:got], []byte("hello")) {
				k, err := c.Read(buf[got:])
				if err != nil {
					b.Fatal(err)
				}
				got += k
			}
			cs = append(cs, c)
		}
		after := serverMemory()
		b.ReportMetric(float64(after-before)/n, "B/conn")
		for _, c := range cs {
			c.Close()
		}
		srv.Close()
	}
}

// serverMemory is the process's live heap and stacks after a collection.
func serverMemory() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc + ms.StackInuse)
}
