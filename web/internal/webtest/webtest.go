// Package webtest holds helpers shared by the web packages' tests and
// benchmarks. It is not imported by the daemon.
package webtest

import (
	"encoding/binary"
	"net/http"
	"net/netip"
	"testing"
)

// FloodAddr is the n-th of many distinct client addresses, as a flood
// from many machines would come: IPv4 (10.x.y.z) for even n, IPv6 each in
// its own /64 for odd n.
func FloodAddr(n int) netip.Addr {
	if n%2 == 0 {
		return netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)})
	}
	var b [16]byte
	b[0], b[1] = 0x20, 0x01
	binary.BigEndian.PutUint32(b[4:], uint32(n))
	b[15] = 1
	return netip.AddrFrom16(b)
}

// Discard is a ResponseWriter that keeps the status and the byte count
// only, so that a benchmark measures the handler's own allocations.
type Discard struct {
	Code int // the status written, 0 before any
	N    int // the bytes written
	h    http.Header
}

// Header is the response's header, made on first use.
func (d *Discard) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}

// WriteHeader keeps the status.
func (d *Discard) WriteHeader(code int) { d.Code = code }

// Write counts p and drops it.
func (d *Discard) Write(p []byte) (int, error) {
	if d.Code == 0 {
		d.Code = http.StatusOK
	}
	d.N += len(p)
	return len(p), nil
}

// BenchServe is b's loop over h: each round serves newReq() into a
// Discard and fails unless it was answered 200. It reports allocations and
// the last answer's size (B/answer).
func BenchServe(b *testing.B, h http.Handler, newReq func() *http.Request) {
	b.Helper()
	b.ReportAllocs()
	var size int
	for b.Loop() {
		req := newReq()
		w := &Discard{}
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%s %s = %d", req.Method, req.URL.Path, w.Code)
		}
		size = w.N
	}
	b.ReportMetric(float64(size), "B/answer")
}
