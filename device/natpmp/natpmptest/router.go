// Package natpmptest is a NAT-PMP router (RFC 6886) on loopback for tests:
// it answers external-address and TCP mapping requests from its own
// table, like miniupnpd's NAT-PMP side without touching any firewall.
package natpmptest

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// Router is a running test router.
type Router struct {
	Addr     netip.AddrPort // where it listens
	External netip.Addr     // the address it reports
	mu       sync.Mutex
	maps     map[uint16]Mapping // internal port → mapping
	refuse   uint16
}

// Mapping is one mapping the router holds.
type Mapping struct {
	Internal, External uint16
	Lifetime           time.Duration
	From               netip.Addr
}

// Start runs a router on addr (e.g. 127.0.0.2:5351, or 127.0.0.1:0)
// reporting external as its address, until the test ends.
func Start(t testing.TB, addr string, external netip.Addr) *Router {
	t.Helper()
	pc, err := net.ListenPacket("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := &Router{Addr: pc.LocalAddr().(*net.UDPAddr).AddrPort(), External: external, maps: map[uint16]Mapping{}}
	done := make(chan struct{})
	t.Cleanup(func() { pc.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := r.answer(buf[:n], from.(*net.UDPAddr).AddrPort().Addr()); resp != nil {
				pc.WriteTo(resp, from)
			}
		}
	}()
	return r
}

// Refuse makes every later request fail with result code (0: answer again).
func (r *Router) Refuse(code uint16) {
	r.mu.Lock()
	r.refuse = code
	r.mu.Unlock()
}

// Mappings returns the live mappings.
func (r *Router) Mappings() map[uint16]Mapping {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[uint16]Mapping{}
	for k, v := range r.maps {
		out[k] = v
	}
	return out
}

func (r *Router) answer(req []byte, from netip.Addr) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(req) < 2 || req[0] != 0 {
		return nil
	}
	switch {
	case req[1] == 0:
		out := make([]byte, 12)
		out[1] = 128
		binary.BigEndian.PutUint16(out[2:], r.refuse)
		binary.BigEndian.PutUint32(out[4:], 1)
		a := r.External.As4()
		copy(out[8:], a[:])
		return out
	case req[1] == 2 && len(req) >= 12:
		in, ext := binary.BigEndian.Uint16(req[4:]), binary.BigEndian.Uint16(req[6:])
		life := time.Duration(binary.BigEndian.Uint32(req[8:])) * time.Second
		out := make([]byte, 16)
		out[1] = 130
		binary.BigEndian.PutUint16(out[2:], r.refuse)
		binary.BigEndian.PutUint32(out[4:], 1)
		binary.BigEndian.PutUint16(out[8:], in)
		if r.refuse == 0 {
			if life == 0 {
				delete(r.maps, in)
				ext = 0
			} else {
				if ext == 0 {
					ext = in
				}
				r.maps[in] = Mapping{Internal: in, External: ext, Lifetime: life, From: from}
			}
			binary.BigEndian.PutUint16(out[10:], ext)
			binary.BigEndian.PutUint32(out[12:], uint32(life/time.Second))
		}
		return out
	}
	return nil
}
