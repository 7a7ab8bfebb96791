package mdns

import (
	"fmt"
	"math"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// A flood of responses from 200 LAN sources, each announcing many
// instances and host names with the longest TTL there is and many
// addresses per name: the cache stays within its bounds, one source
// gets at most maxPerSource instances, a device announced before the
// flood stays listed with its address, and everything is gone maxTTL
// later (the senders' TTL said 136 years).
func TestCacheBoundedUnderFlood(t *testing.T) {
	c := newCache(testSvc)
	t0 := time.Unix(1000, 0)
	c.add(pkt(announce("Real NAS", "real-nas.local.", 120, "10.0.0.5"), "10.0.0.5"), t0)

	const sources = 200
	for s := range sources {
		src := fmt.Sprintf("10.9.%d.%d", s/250, 1+s%250)
		for i := range 10 {
			m := announce(fmt.Sprintf("fake %d-%d", s, i), fmt.Sprintf("h%d-%d.local.", s, i), math.MaxUint32)
			for j := range 2 * maxAddrs { // many addresses for one name, no cache-flush
				ip := net.IPv4(192, 168, byte(j), byte(i))
				m.Extra = append(m.Extra, &dns.A{Hdr: hdr(fmt.Sprintf("h%d-%d.local.", s, i), dns.TypeA, math.MaxUint32, false), A: ip})
			}
			c.add(pkt(m, src), t0)
		}
	}
	if n := len(c.insts); n > maxInstances {
		t.Errorf("instances = %d, want at most %d", n, maxInstances)
	}
	if n := len(c.hosts); n > maxHosts {
		t.Errorf("host names = %d, want at most %d", n, maxHosts)
	}
	perSource := map[string]int{}
	for _, in := range c.insts {
		perSource[in.from.String()]++
		if len(in.srcs) > maxAddrs {
			t.Errorf("instance %s has %d source addresses, want at most %d", in.fqdn, len(in.srcs), maxAddrs)
		}
	}
	for src, n := range perSource {
		if n > maxPerSource {
			t.Errorf("source %s made %d instances, want at most %d", src, n, maxPerSource)
		}
	}
	for h, m := range c.hosts {
		if len(m) > maxAddrs {
			t.Errorf("host %s has %d addresses, want at most %d", h, len(m), maxAddrs)
		}
	}
	found := false
	for _, e := range c.entries(t0) {
		found = found || e.Instance == "Real NAS" && len(e.Addrs) == 1
	}
	if !found {
		t.Error("the device announced before the flood is no longer listed with its address")
	}

	// The flood's records expire maxTTL after they came, whatever their TTL.
	later := t0.Add(maxTTL*time.Second + time.Second)
	c.expire(later)
	if len(c.insts) != 0 || len(c.hosts) != 0 {
		t.Errorf("%v later: %d instances and %d host names left, want none", later.Sub(t0), len(c.insts), len(c.hosts))
	}
}

// With the host table full of names no instance points to, a device
// announced afterwards still gets its host's addresses in.
func TestCacheHostsMakeRoomForInstances(t *testing.T) {
	c := newCache(testSvc)
	t0 := time.Unix(1000, 0)
	for i := range 2 * maxHosts {
		m := &dns.Msg{MsgHdr: dns.MsgHdr{Response: true}}
		m.Answer = []dns.RR{&dns.A{Hdr: hdr(fmt.Sprintf("printer-%d.local.", i), dns.TypeA, 120, true), A: net.IPv4(10, 1, byte(i>>8), byte(i))}}
		c.add(pkt(m, "10.1.0.1"), t0)
	}
	if n := len(c.hosts); n != maxHosts {
		t.Fatalf("host names = %d, want %d", n, maxHosts)
	}
	c.add(pkt(announce("NAS", "nas.local.", 120, "10.0.0.7"), "10.0.0.7"), t0)
	es := c.entries(t0)
	if len(es) != 1 || len(es[0].Addrs) != 1 || es[0].Addrs[0].String() != "10.0.0.7" {
		t.Errorf("entries = %+v, want NAS at 10.0.0.7", es)
	}
}
