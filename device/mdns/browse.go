package mdns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Entry is one service instance found on the LAN.
type Entry struct {
	// Instance is the unique DNS-SD instance name, e.g. "Hearth NAS (2)".
	Instance string `json:"instance"`
	// Service is the service type, e.g. "_hearth._tcp".
	Service string `json:"service"`
	// Host is the target of the SRV record, e.g. "hearth-3fa9c1d2e4b5.local.".
	Host string `json:"host"`
	Port int    `json:"port"`
	// Addrs are the host's addresses (IPv6 link-local ones carry the
	// interface as zone), or the packet's source address when the
	// responder sent no address record.
	Addrs []netip.Addr `json:"addrs"`
	// Interfaces the instance was seen on.
	Interfaces []string `json:"interfaces"`
	// TXT is the whole TXT record, keys lowercased.
	TXT map[string]string `json:"txt"`

	// Hearth's TXT keys, parsed; empty for other services.
	ID          string `json:"id,omitempty"`
	Name        string `json:"name,omitempty"`
	Model       string `json:"model,omitempty"`
	Version     string `json:"version,omitempty"`
	API         string `json:"api,omitempty"`
	RPC         string `json:"rpc,omitempty"`
	PairingOpen bool   `json:"pairingOpen"`
}

// EventKind says what happened to an entry.
type EventKind int

// Event kinds.
const (
	Added EventKind = iota + 1
	Updated
	Removed
)

func (k EventKind) String() string {
	switch k {
	case Added:
		return "added"
	case Updated:
		return "updated"
	case Removed:
		return "removed"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is a change Watch reports.
type Event struct {
	Kind  EventKind
	Entry Entry
}

// Browse collects the instances of service (e.g. ServiceHearth) that answer
// on ifaces until ctx ends, and returns them sorted by instance name. A
// deadline or timeout is the normal end and returns the entries with a nil
// error; a cancelled ctx returns its error. ifaces must not be empty:
// Browse never picks interfaces itself (see Interfaces).
func Browse(ctx context.Context, service string, ifaces []net.Interface) ([]Entry, error) {
	var last []Entry
	err := watch(ctx, service, ifaces, func(_ []Event, now []Entry) { last = now })
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return nil, err
	}
	return last, nil
}

// Watch reports instances of service on ifaces as they appear, change and
// leave (goodbye packets, or records that expire), until ctx ends; then it
// returns ctx's error. fn runs on Watch's goroutine, one call per event.
func Watch(ctx context.Context, service string, ifaces []net.Interface, fn func(Event)) error {
	return watch(ctx, service, ifaces, func(evs []Event, _ []Entry) {
		for _, e := range evs {
			fn(e)
		}
	})
}

// Query timing: RFC 6762 section 5.2 (continuous querying): the second
// query one second after the first, then doubling, at most every hour —
// Hearth caps it at a minute so a device that missed a packet is seen soon.
const (
	firstQueryGap = time.Second
	maxQueryGap   = time.Minute
	// goodbyeGrace is how long a record with TTL 0 lives on (RFC 6762
	// 10.1): a re-registration (goodbye then announcement) never shows
	// as a removal.
	goodbyeGrace = time.Second
	sweepEvery   = 250 * time.Millisecond
)

func watch(ctx context.Context, service string, ifaces []net.Interface, fn func([]Event, []Entry)) error {
	svc, err := serviceFQDN(service)
	if err != nil {
		return err
	}
	c, err := listen(ifaces)
	if err != nil {
		return err
	}
	defer c.close()
	pkts := make(chan packet, 16)
	c.start(pkts)

	ca := newCache(svc)
	gap := firstQueryGap
	queryT := time.NewTimer(0)
	defer queryT.Stop()
	sweep := time.NewTicker(sweepEvery)
	defer sweep.Stop()
	asked := map[string]time.Time{}
	var shown map[string]Entry

	update := func(now time.Time, final bool) {
		ca.expire(now)
		cur := ca.entries(now)
		evs := diff(shown, cur)
		shown = make(map[string]Entry, len(cur))
		for _, e := range cur {
			shown[strings.ToLower(e.Instance)] = e
		}
		if len(evs) > 0 || final {
			fn(evs, cur)
		}
		if final {
			return
		}
		// Ask for what an instance lacks (SRV, TXT or addresses): the
		// responder's answer to an instance query carries all of them.
		for name, t := range asked {
			if now.Sub(t) >= time.Second {
				delete(asked, name) // names that come and go must not pile up
			}
		}
		for _, name := range ca.incomplete(now) {
			if t, ok := asked[name]; ok && now.Sub(t) < time.Second {
				continue
			}
			asked[name] = now
			_ = c.send(question(dns.TypeANY, name))
		}
	}
	for {
		select {
		case <-ctx.Done():
			update(time.Now(), true)
			return ctx.Err()
		case <-queryT.C:
			if err := c.send(question(dns.TypePTR, svc)); err != nil && ctx.Err() == nil {
				return err
			}
			queryT.Reset(gap)
			gap = min(2*gap, maxQueryGap)
		case p := <-pkts:
			now := time.Now()
			if ca.add(p, now) {
				update(now, false)
			}
		case <-sweep.C:
			update(time.Now(), false)
		}
	}
}

// serviceFQDN turns "_hearth._tcp" (or "_hearth._tcp.local.") into
// "_hearth._tcp.local.".
func serviceFQDN(service string) (string, error) {
	s := strings.TrimSuffix(strings.TrimSuffix(service, "."), ".local")
	labels := strings.Split(s, ".")
	if len(labels) != 2 || !strings.HasPrefix(labels[0], "_") || (labels[1] != "_tcp" && labels[1] != "_udp") {
		return "", fmt.Errorf("%w: service %q: want a type like _hearth._tcp", ErrConfig, service)
	}
	return s + ".local.", nil
}

// diff compares what was shown with what is current.
func diff(shown map[string]Entry, cur []Entry) []Event {
	var evs []Event
	seen := make(map[string]bool, len(cur))
	for _, e := range cur {
		k := strings.ToLower(e.Instance)
		seen[k] = true
		old, ok := shown[k]
		switch {
		case !ok:
			evs = append(evs, Event{Kind: Added, Entry: e})
		case !reflect.DeepEqual(old, e):
			evs = append(evs, Event{Kind: Updated, Entry: e})
		}
	}
	var gone []string
	for k := range shown {
		if !seen[k] {
			gone = append(gone, k)
		}
	}
	sort.Strings(gone)
	for _, k := range gone {
		evs = append(evs, Event{Kind: Removed, Entry: shown[k]})
	}
	return evs
}

// cache holds the records of one service type, as RFC 6762 section 10
// describes: each with its expiry, TTL 0 meaning "gone in a second", and
// the cache-flush bit replacing older records of the same name and type.
type cache struct {
	svc   string // "_hearth._tcp.local."
	insts map[string]*instance
	hosts map[string]map[netip.Addr]*addrRec
}

type instance struct {
	fqdn       string // presentation format, as received
	ptrExp     time.Time
	srvExp     time.Time
	host       string
	port       int
	txt        []string // raw
	txtExp     time.Time
	srcs       map[netip.Addr]time.Time // fallback addresses: packet sources
	interfaces map[string]bool
	from       netip.Addr // source of the packet that created it (maxPerSource)
}

// Bounds of the cache: anyone on the LAN can send responses, and each
// new name or address was a new entry, kept for the TTL its sender
// chose (up to 136 years). A household has a few Hearth devices; these
// are far above that and far below what a small device cannot hold.
const (
	// maxTTL caps a record's lifetime (RFC 6762 recommends 75 minutes
	// for records other than host addresses; responders refresh sooner,
	// and Watch asks again every minute).
	maxTTL = 75 * 60
	// maxInstances bounds the instances of the service; when full, new
	// ones are ignored until some expire or say goodbye.
	maxInstances = 128
	// maxPerSource bounds the instances one source address may create.
	maxPerSource = 8
	// maxHosts bounds the host names whose addresses are kept (every
	// responder on the LAN announces its own); when full, a host that
	// no instance points to makes room for one that an instance does.
	maxHosts = 256
	// maxAddrs bounds the addresses kept per host name, and the packet
	// sources per instance; the one that expires first makes room.
	maxAddrs = 16
)

type addrRec struct {
	exp  time.Time
	seen time.Time
}

func newCache(svc string) *cache {
	return &cache{svc: svc, insts: map[string]*instance{}, hosts: map[string]map[netip.Addr]*addrRec{}}
}

func ttlExp(now time.Time, ttl uint32) time.Time {
	if ttl == 0 {
		return now.Add(goodbyeGrace)
	}
	return now.Add(time.Duration(min(ttl, maxTTL)) * time.Second)
}

// inst returns the instance fqdn, created for a record from src; nil
// when it is new and the cache has no room for it (Watch drops expired
// instances several times a second).
func (c *cache) inst(fqdn string, src netip.Addr) *instance {
	k := strings.ToLower(fqdn)
	in := c.insts[k]
	if in != nil {
		return in
	}
	mine := 0
	for _, o := range c.insts {
		if o.from == src {
			mine++
		}
	}
	if len(c.insts) >= maxInstances || mine >= maxPerSource {
		return nil
	}
	in = &instance{fqdn: fqdn, srcs: map[netip.Addr]time.Time{}, interfaces: map[string]bool{}, from: src}
	c.insts[k] = in
	return in
}

// hostAddrs returns the address records of host (lowercase), created if
// there is room; nil if not.
func (c *cache) hostAddrs(host string) map[netip.Addr]*addrRec {
	if m := c.hosts[host]; m != nil {
		return m
	}
	if len(c.hosts) >= maxHosts {
		if !c.pointedTo(host) {
			return nil
		}
		pointed := make(map[string]bool, len(c.insts))
		for _, in := range c.insts {
			pointed[strings.ToLower(in.host)] = true
		}
		for h := range c.hosts {
			if !pointed[h] {
				delete(c.hosts, h)
				break
			}
		}
		if len(c.hosts) >= maxHosts {
			return nil
		}
	}
	m := map[netip.Addr]*addrRec{}
	c.hosts[host] = m
	return m
}

// pointedTo reports whether an instance's SRV names host.
func (c *cache) pointedTo(host string) bool {
	for _, in := range c.insts {
		if strings.EqualFold(in.host, host) {
			return true
		}
	}
	return false
}

// makeRoom drops the entry of m that expires first when m holds maxAddrs
// and k is not in it.
func makeRoom[V any](m map[netip.Addr]V, k netip.Addr, exp func(V) time.Time) {
	if _, ok := m[k]; ok || len(m) < maxAddrs {
		return
	}
	var first netip.Addr
	var at time.Time
	for a, v := range m {
		if e := exp(v); !first.IsValid() || e.Before(at) {
			first, at = a, e
		}
	}
	delete(m, first)
}

// ours reports whether name is an instance of the cached service.
func (c *cache) ours(name string) bool {
	_, rest := firstLabel(name)
	return strings.EqualFold(rest, c.svc)
}

// add records a response's records; it reports whether anything changed.
func (c *cache) add(p packet, now time.Time) bool {
	if !p.msg.Response {
		return false
	}
	rrs := make([]dns.RR, 0, len(p.msg.Answer)+len(p.msg.Extra))
	rrs = append(append(append(rrs, p.msg.Answer...), p.msg.Ns...), p.msg.Extra...)
	changed := false
	flushed := map[string]bool{}
	src, _ := netip.AddrFromSlice(p.src)
	src = src.Unmap()
	for _, rr := range rrs {
		h := rr.Header()
		switch rr := rr.(type) {
		case *dns.PTR:
			if !strings.EqualFold(h.Name, c.svc) || !c.ours(rr.Ptr) {
				continue
			}
			in := c.inst(rr.Ptr, src)
			if in == nil {
				continue
			}
			in.ptrExp = ttlExp(now, h.Ttl)
			in.interfaces[p.iface] = true
			changed = true
		case *dns.SRV:
			if !c.ours(h.Name) {
				continue
			}
			in := c.inst(h.Name, src)
			if in == nil {
				continue
			}
			in.srvExp = ttlExp(now, h.Ttl)
			in.host, in.port = rr.Target, int(rr.Port)
			in.interfaces[p.iface] = true
			if src.IsValid() && h.Ttl > 0 {
				a := withZone(src, p.iface)
				makeRoom(in.srcs, a, func(t time.Time) time.Time { return t })
				in.srcs[a] = in.srvExp
			}
			changed = true
		case *dns.TXT:
			if !c.ours(h.Name) {
				continue
			}
			in := c.inst(h.Name, src)
			if in == nil {
				continue
			}
			in.txtExp = ttlExp(now, h.Ttl)
			if h.Ttl > 0 {
				in.txt = make([]string, len(rr.Txt))
				for i, s := range rr.Txt {
					in.txt[i] = unescape(s)
				}
			}
			changed = true
		case *dns.A, *dns.AAAA:
			var ip net.IP
			if a, ok := rr.(*dns.A); ok {
				ip = a.A
			} else {
				ip = rr.(*dns.AAAA).AAAA
			}
			addr, ok := netip.AddrFromSlice(ip)
			if !ok {
				continue
			}
			addr = withZone(addr.Unmap(), p.iface)
			host := strings.ToLower(h.Name)
			m := c.hostAddrs(host)
			if m == nil {
				continue
			}
			if h.Class&cacheFlush != 0 {
				key := fmt.Sprintf("%s/%d", host, h.Rrtype)
				if !flushed[key] {
					flushed[key] = true
					c.flush(m, h.Rrtype, now)
				}
			}
			makeRoom(m, addr, func(r *addrRec) time.Time { return r.exp })
			m[addr] = &addrRec{exp: ttlExp(now, h.Ttl), seen: now}
			changed = true
		}
	}
	return changed
}

const cacheFlush = 1 << 15

// flush makes a host's addresses of one type that were received more than
// a second ago expire in a second (RFC 6762 10.2): the new announcement
// is the whole set.
func (c *cache) flush(m map[netip.Addr]*addrRec, rrtype uint16, now time.Time) {
	for a, r := range m {
		if (rrtype == dns.TypeA) != a.Is4() {
			continue
		}
		if now.Sub(r.seen) > time.Second && r.exp.After(now.Add(goodbyeGrace)) {
			r.exp = now.Add(goodbyeGrace)
		}
	}
}

func withZone(a netip.Addr, iface string) netip.Addr {
	if a.Is6() && (a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast()) {
		return a.WithZone(iface)
	}
	return a
}

// expire drops what has expired.
func (c *cache) expire(now time.Time) {
	for k, in := range c.insts {
		for a, exp := range in.srcs {
			if !exp.After(now) {
				delete(in.srcs, a)
			}
		}
		if !in.ptrExp.After(now) && !in.srvExp.After(now) {
			delete(c.insts, k)
		}
	}
	for h, m := range c.hosts {
		for a, r := range m {
			if !r.exp.After(now) {
				delete(m, a)
			}
		}
		if len(m) == 0 {
			delete(c.hosts, h)
		}
	}
}

// entry assembles an instance that is complete: a live SRV, a PTR that
// has not said goodbye (some responders send only the PTR's), and an
// address.
func (c *cache) entry(in *instance, now time.Time) (Entry, bool) {
	if !in.srvExp.After(now) || (!in.ptrExp.IsZero() && !in.ptrExp.After(now)) {
		return Entry{}, false
	}
	var addrs []netip.Addr
	for a := range c.hosts[strings.ToLower(in.host)] {
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		for a := range in.srcs {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return Entry{}, false
	}
	sort.Slice(addrs, func(i, j int) bool {
		if addrs[i].Is4() != addrs[j].Is4() {
			return addrs[i].Is4()
		}
		return addrs[i].Less(addrs[j])
	})
	label, _ := firstLabel(in.fqdn)
	e := Entry{
		Instance: unescape(label),
		Service:  strings.TrimSuffix(c.svc, ".local."),
		Host:     in.host,
		Port:     in.port,
		Addrs:    addrs,
		TXT:      map[string]string{},
	}
	for i := range in.interfaces {
		e.Interfaces = append(e.Interfaces, i)
	}
	sort.Strings(e.Interfaces)
	if in.txtExp.After(now) {
		e.TXT = parseTXT(in.txt)
	}
	e.ID, e.Name, e.Model, e.Version = e.TXT[KeyID], e.TXT[KeyName], e.TXT[KeyModel], e.TXT[KeyVersion]
	e.API, e.RPC = e.TXT[KeyAPI], e.TXT[KeyRPC]
	e.PairingOpen = e.TXT[KeyPair] == "1"
	return e, true
}

// entries returns the complete instances, sorted by name.
func (c *cache) entries(now time.Time) []Entry {
	var out []Entry
	for _, in := range c.insts {
		if e, ok := c.entry(in, now); ok {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Instance < out[j].Instance })
	return out
}

// incomplete returns the names of instances known by PTR but missing their
// SRV, TXT or an address.
func (c *cache) incomplete(now time.Time) []string {
	var out []string
	for _, in := range c.insts {
		if !in.ptrExp.After(now) {
			continue
		}
		if _, ok := c.entry(in, now); ok && in.txtExp.After(now) {
			continue
		}
		out = append(out, in.fqdn)
	}
	sort.Strings(out)
	return out
}
