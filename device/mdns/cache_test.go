package mdns

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const testSvc = "_hearth._tcp.local."

func hdr(name string, t uint16, ttl uint32, flush bool) dns.RR_Header {
	class := uint16(dns.ClassINET)
	if flush {
		class |= cacheFlush
	}
	return dns.RR_Header{Name: name, Rrtype: t, Class: class, Ttl: ttl}
}

// announce is what a zeroconf server sends for instance on host.
func announce(instance, host string, ttl uint32, addrs ...string) *dns.Msg {
	inst := escapeLabel(instance) + "." + testSvc
	m := &dns.Msg{MsgHdr: dns.MsgHdr{Response: true}}
	m.Answer = []dns.RR{
		&dns.PTR{Hdr: hdr(testSvc, dns.TypePTR, ttl, false), Ptr: inst},
		&dns.SRV{Hdr: hdr(inst, dns.TypeSRV, ttl, true), Port: 9091, Target: host},
		&dns.TXT{Hdr: hdr(inst, dns.TypeTXT, ttl, true), Txt: []string{"id=x", "pair=1", "ver=2"}},
	}
	for _, a := range addrs {
		ip := net.ParseIP(a)
		if ip.To4() != nil {
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr(host, dns.TypeA, min(ttl, 120), true), A: ip})
		} else {
			m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr(host, dns.TypeAAAA, min(ttl, 120), true), AAAA: ip})
		}
	}
	return m
}

func pkt(m *dns.Msg, src string) packet {
	return packet{msg: m, iface: "eth0", src: net.ParseIP(src)}
}

func TestCacheLifecycle(t *testing.T) {
	c := newCache(testSvc)
	t0 := time.Unix(1000, 0)
	host := "hearth-x.local."

	c.add(pkt(announce("NAS (2)", host, 3200, "10.0.0.5", "fe80::1"), "10.0.0.5"), t0)
	es := c.entries(t0)
	if len(es) != 1 {
		t.Fatalf("entries = %+v, want one", es)
	}
	e := es[0]
	wantAddrs := []netip.Addr{netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("fe80::1%eth0")}
	if e.Instance != "NAS (2)" || e.Port != 9091 || e.Host != host || !e.PairingOpen || e.Version != "2" ||
		len(e.Addrs) != 2 || e.Addrs[0] != wantAddrs[0] || e.Addrs[1] != wantAddrs[1] {
		t.Errorf("entry = %+v, want NAS (2) at %v", e, wantAddrs)
	}

	// A new address announced with cache-flush 5 s later replaces the old
	// one a second later (RFC 6762 10.2).
	t1 := t0.Add(5 * time.Second)
	c.add(pkt(announce("NAS (2)", host, 3200, "10.0.0.9"), "10.0.0.9"), t1)
	c.expire(t1.Add(1500 * time.Millisecond))
	e = c.entries(t1.Add(1500 * time.Millisecond))[0]
	var v4 []netip.Addr
	for _, a := range e.Addrs {
		if a.Is4() {
			v4 = append(v4, a)
		}
	}
	if len(v4) != 1 || v4[0] != netip.MustParseAddr("10.0.0.9") {
		t.Errorf("IPv4 after the flush = %v, want [10.0.0.9]", v4)
	}

	// Goodbye then a prompt re-announcement: still there.
	t2 := t1.Add(10 * time.Second)
	c.add(pkt(announce("NAS (2)", host, 0), "10.0.0.9"), t2)
	if len(c.entries(t2.Add(500*time.Millisecond))) != 1 {
		t.Errorf("entry gone within the goodbye grace")
	}
	c.add(pkt(announce("NAS (2)", host, 3200), "10.0.0.9"), t2.Add(400*time.Millisecond))
	c.expire(t2.Add(2 * time.Second))
	if len(c.entries(t2.Add(2*time.Second))) != 1 {
		t.Errorf("entry gone although re-announced within the grace")
	}

	// Goodbye alone: gone after a second.
	t3 := t2.Add(10 * time.Second)
	c.add(pkt(announce("NAS (2)", host, 0), "10.0.0.9"), t3)
	c.expire(t3.Add(1100 * time.Millisecond))
	if es := c.entries(t3.Add(1100 * time.Millisecond)); len(es) != 0 {
		t.Errorf("entries after goodbye = %+v, want none", es)
	}
}

func TestCacheFiltersAndFallbacks(t *testing.T) {
	c := newCache(testSvc)
	now := time.Unix(1000, 0)
	// Another service type, and a query: ignored.
	other := announce("Printer", "p.local.", 120, "10.0.0.7")
	other.Answer[0].Header().Name = "_ipp._tcp.local."
	other.Answer[0].(*dns.PTR).Ptr = "Printer._ipp._tcp.local."
	other.Answer[1].Header().Name = "Printer._ipp._tcp.local."
	other.Answer[2].Header().Name = "Printer._ipp._tcp.local."
	c.add(pkt(other, "10.0.0.7"), now)
	q := announce("Sneaky", "s.local.", 120, "10.0.0.8")
	q.Response = false
	c.add(pkt(q, "10.0.0.8"), now)
	if es := c.entries(now); len(es) != 0 {
		t.Errorf("entries = %+v, want none (other type; a query)", es)
	}
	// No address record: the packet's source stands in.
	c.add(pkt(announce("Bare", "b.local.", 120), "10.0.0.3"), now)
	es := c.entries(now)
	if len(es) != 1 || len(es[0].Addrs) != 1 || es[0].Addrs[0] != netip.MustParseAddr("10.0.0.3") {
		t.Errorf("entries = %+v, want Bare at its source 10.0.0.3", es)
	}
	if got := c.incomplete(now); len(got) != 0 {
		t.Errorf("incomplete = %v, want none", got)
	}
	// PTR only: incomplete, so Watch asks for it.
	ptrOnly := &dns.Msg{MsgHdr: dns.MsgHdr{Response: true}, Answer: []dns.RR{
		&dns.PTR{Hdr: hdr(testSvc, dns.TypePTR, 120, false), Ptr: "Half." + testSvc}}}
	c.add(pkt(ptrOnly, "10.0.0.4"), now)
	if got := c.incomplete(now); len(got) != 1 || got[0] != "Half."+testSvc {
		t.Errorf("incomplete = %v, want [Half.%s]", got, testSvc)
	}
}

func TestDiff(t *testing.T) {
	a := Entry{Instance: "A", Port: 1}
	b := Entry{Instance: "B", Port: 1}
	b2 := Entry{Instance: "B", Port: 2}
	shown := map[string]Entry{"a": a, "b": b}
	evs := diff(shown, []Entry{b2, {Instance: "C"}})
	got := map[string]EventKind{}
	for _, e := range evs {
		got[e.Entry.Instance] = e.Kind
	}
	want := map[string]EventKind{"A": Removed, "B": Updated, "C": Added}
	if len(got) != 3 || got["A"] != want["A"] || got["B"] != want["B"] || got["C"] != want["C"] {
		t.Errorf("diff = %v, want %v", got, want)
	}
}

// TestInspectAndTieBreak checks how an advertiser reads packets about its
// own name, and that two devices agree on who keeps it.
func TestInspectAndTieBreak(t *testing.T) {
	mk := func(id string) *runner {
		return &runner{a: &Advertiser{cfg: Config{ID: id}, host: hostLabel(id) + ".local."}, name: "Porch", phase: phaseUp}
	}
	low, high := mk("0000"), mk("zzzz")
	fromHigh := announce("Porch", high.a.host, 3200, "10.0.0.2")
	fromHigh.Answer[2].(*dns.TXT).Txt = []string{"id=zzzz"}
	fromLow := announce("Porch", low.a.host, 3200, "10.0.0.1")
	fromLow.Answer[2].(*dns.TXT).Txt = []string{"id=0000"}

	if o := low.inspect(fromLow); o.foreign {
		t.Errorf("own packet seen as foreign: %+v", o)
	}
	o := low.inspect(fromHigh)
	if !o.foreign || o.host != high.a.host || o.id != "zzzz" || o.goodbye {
		t.Errorf("low.inspect(high's) = %+v, want foreign from %s", o, high.a.host)
	}
	if !low.winsAgainst(o) {
		t.Errorf("low does not win against high")
	}
	if high.winsAgainst(high.inspect(fromLow)) {
		t.Errorf("high wins against low: both would keep the name")
	}
	// A goodbye from the other: never a reason to yield.
	bye := announce("Porch", high.a.host, 0)
	if o := low.inspect(bye); !o.foreign || !o.goodbye {
		t.Errorf("inspect(goodbye) = %+v, want foreign goodbye", o)
	}
	// Another name: nothing to do.
	if o := low.inspect(announce("Attic", high.a.host, 120)); o.foreign {
		t.Errorf("inspect(other name) = %+v, want not foreign", o)
	}
	// A probe (query with authority records) for our name.
	probe := &dns.Msg{Question: []dns.Question{{Name: "Porch." + testSvc, Qtype: dns.TypeANY, Qclass: dns.ClassINET}},
		Ns: []dns.RR{&dns.SRV{Hdr: hdr("Porch."+testSvc, dns.TypeSRV, 120, false), Target: high.a.host}}}
	if o := low.inspect(probe); !o.foreign || !o.goodbye {
		t.Errorf("inspect(probe) = %+v, want foreign, to be defended", o)
	}
}
