package webtest

import (
	"net/http"
	"testing"
)

func TestFloodAddrDistinct(t *testing.T) {
	const n = 1 << 17
	seen := make(map[string]int, n)
	prefixes := make(map[[8]byte]bool)
	for i := range n {
		a := FloodAddr(i)
		if !a.IsValid() {
			t.Fatalf("FloodAddr(%d) = invalid", i)
		}
		if j, ok := seen[a.String()]; ok {
			t.Fatalf("FloodAddr(%d) = FloodAddr(%d) = %s", i, j, a)
		}
		seen[a.String()] = i
		if a.Is4() != (i%2 == 0) {
			t.Fatalf("FloodAddr(%d) = %s, want IPv4 for even n only", i, a)
		}
		if a.Is6() {
			b := a.As16()
			var p [8]byte
			copy(p[:], b[:8])
			if prefixes[p] {
				t.Fatalf("FloodAddr(%d) = %s shares a /64 with an earlier one", i, a)
			}
			prefixes[p] = true
		}
	}
}

func TestDiscard(t *testing.T) {
	var d Discard
	d.Header().Set("Content-Type", "text/plain")
	d.Write([]byte("hello"))
	d.Write([]byte(", world"))
	if d.Code != http.StatusOK || d.N != 12 || d.Header().Get("Content-Type") != "text/plain" {
		t.Errorf("after two writes: code %d, n %d, header %v; want 200, 12, text/plain", d.Code, d.N, d.Header())
	}
	d = Discard{}
	d.WriteHeader(http.StatusServiceUnavailable)
	d.Write([]byte("x"))
	if d.Code != http.StatusServiceUnavailable {
		t.Errorf("code = %d after WriteHeader(503), want 503", d.Code)
	}
}
