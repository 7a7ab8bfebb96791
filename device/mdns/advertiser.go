package mdns

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/grandcat/zeroconf"
	"github.com/miekg/dns"
)

// Service types Hearth advertises.
const (
	ServiceHearth = "_hearth._tcp" // Hearth's own: TXT carries id, version, pairing state
	ServiceHTTP   = "_http._tcp"   // the web UI, for generic mDNS browsers and phones
)

// Errors.
var (
	ErrConfig       = errors.New("mdns: bad config")
	ErrNoInterfaces = errors.New("mdns: no network interface to use")
)

// Config says what to advertise and where. The zero value is not usable:
// ID and Port are required.
type Config struct {
	// ID is the device's stable id (NewID makes one; the caller keeps it
	// in its store): letters, digits, '-' and '_', 1 to 64 of them.
	ID string
	// Name is the friendly name shown in browsers, one DNS label (at most
	// 63 bytes of UTF-8). Empty: DefaultName(Model, os.Hostname()). On a
	// conflict with another device the advertised name becomes
	// "Name (2)", "Name (3)"…
	Name string
	// Model is the device model, e.g. "Hearth NAS"; empty: "Hearth".
	Model string
	// Version is Hearth's version.
	Version string
	// Port is the HTTP port of the API, the Transmission RPC and the web UI.
	Port int
	// Interfaces are the names of the interfaces to advertise on. Empty:
	// the default rule of Interfaces (private LAN interfaces, no WAN-
	// looking names). Routers should name their LAN bridge.
	Interfaces []string
	// PairingOpen is the initial value of the pair TXT key (SetPairing
	// changes it).
	PairingOpen bool
	// TXT are extra TXT keys (SetTXT replaces them): at most 9 bytes of
	// printable ASCII per key, 255 bytes per key=value, 1300 in all.
	TXT map[string]string
	// NoHTTP leaves out the _http._tcp registration.
	NoHTTP bool
	// PollInterval is how often the interfaces and their addresses are
	// checked (a change re-announces); 0 means 5 s.
	PollInterval time.Duration
}

// Status is the advertiser's state.
type Status struct {
	// Name is the advertised instance name; empty while not advertising.
	Name string `json:"name"`
	// Interfaces are the interfaces in use.
	Interfaces []string `json:"interfaces"`
	// Advertising is true once registered on at least one interface.
	Advertising bool `json:"advertising"`
	// Renames counts name conflicts lost since Start.
	Renames int `json:"renames"`
	// Registrations counts registrations (initial, renames, TXT and
	// address changes).
	Registrations int `json:"registrations"`
}

// Advertiser announces one Hearth device with mDNS/DNS-SD. Its methods
// are safe for concurrent use.
type Advertiser struct {
	cfg     Config
	host    string // "hearth-….local."
	log     *slog.Logger
	changeC chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}

	mu     sync.Mutex
	status Status
	txt    txtInfo
}

// NewID returns a new random device id (32 hex digits).
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Start checks cfg and starts advertising in the background until ctx ends
// or Close is called; both send goodbye packets. It does not wait for the
// name to be probed (about a second): Status tells when it is advertised.
// A missing interface named in cfg.Interfaces is an error; interfaces that
// are down or have no address yet are picked up when they come up.
func Start(ctx context.Context, cfg Config, logger *slog.Logger) (*Advertiser, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := normalize(&cfg); err != nil {
		return nil, err
	}
	ifaces, err := Interfaces(cfg.Interfaces)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	a := &Advertiser{
		cfg:     cfg,
		host:    hostLabel(cfg.ID) + ".local.",
		log:     logger.With("component", "mdns"),
		changeC: make(chan struct{}, 1),
		cancel:  cancel,
		done:    make(chan struct{}),
		txt: txtInfo{id: cfg.ID, name: cfg.Name, model: cfg.Model, version: cfg.Version,
			pairing: cfg.PairingOpen, extra: copyMap(cfg.TXT)},
	}
	r := &runner{a: a, pkts: make(chan packet, 16)}
	go func() {
		defer close(a.done)
		r.run(ctx, ifaces)
	}()
	return a, nil
}

func normalize(cfg *Config) error {
	if cfg.ID == "" || len(cfg.ID) > 64 {
		return fmt.Errorf("%w: id %q: want 1 to 64 characters", ErrConfig, cfg.ID)
	}
	for _, r := range cfg.ID {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("%w: id %q: want letters, digits, '-' and '_'", ErrConfig, cfg.ID)
		}
	}
	if cfg.Port <= 0 || cfg.Port > 65535 {
		return fmt.Errorf("%w: port %d", ErrConfig, cfg.Port)
	}
	if cfg.Model == "" {
		cfg.Model = "Hearth"
	}
	if cfg.Name == "" {
		host, _ := os.Hostname()
		cfg.Name = DefaultName(cfg.Model, host)
	}
	if err := checkName(cfg.Name); err != nil {
		return err
	}
	if err := checkExtra(cfg.TXT); err != nil {
		return err
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 5 * time.Second
	}
	// The whole TXT record must fit now, not only at the first update.
	_, err := txtInfo{id: cfg.ID, name: cfg.Name, model: cfg.Model, version: cfg.Version, extra: cfg.TXT}.records()
	return err
}

// Status returns the current state.
func (a *Advertiser) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.status
	s.Interfaces = append([]string(nil), s.Interfaces...)
	return s
}

// Name returns the advertised instance name, "" while not advertising.
func (a *Advertiser) Name() string { return a.Status().Name }

// SetPairing changes the pair TXT key and re-announces.
func (a *Advertiser) SetPairing(open bool) {
	a.mu.Lock()
	changed := a.txt.pairing != open
	a.txt.pairing = open
	a.mu.Unlock()
	if changed {
		a.changed()
	}
}

// SetTXT replaces the extra TXT keys (Config.TXT) and re-announces. Keys
// Hearth sets itself are refused, as is a record over the size limits.
func (a *Advertiser) SetTXT(extra map[string]string) error {
	if err := checkExtra(extra); err != nil {
		return err
	}
	a.mu.Lock()
	t := a.txt
	t.extra = copyMap(extra)
	if _, err := t.records(); err != nil {
		a.mu.Unlock()
		return err
	}
	same := mapsEqual(a.txt.extra, t.extra)
	a.txt = t
	a.mu.Unlock()
	if !same {
		a.changed()
	}
	return nil
}

func (a *Advertiser) changed() {
	select {
	case a.changeC <- struct{}{}:
	default:
	}
}

// Close sends goodbye packets, stops advertising and waits until every
// socket is closed. Safe to call twice.
func (a *Advertiser) Close() error {
	a.cancel()
	<-a.done
	return nil
}

func (a *Advertiser) setStatus(f func(*Status)) {
	a.mu.Lock()
	f(&a.status)
	a.mu.Unlock()
}

func (a *Advertiser) records() ([]string, error) {
	a.mu.Lock()
	t := a.txt
	a.mu.Unlock()
	return t.records()
}

// Probing: three queries 250 ms apart, then half a second more for late
// answers (RFC 6762 section 8.1 probes the same way). After registering,
// two more queries for the name catch a device that probed at the same
// moment.
const (
	probeGap     = 250 * time.Millisecond
	probeQueries = 3
	probeWait    = 500 * time.Millisecond
	verifyGap    = time.Second
	defendGap    = time.Second
)

type phase int

const (
	phaseIdle    phase = iota // no interface
	phaseProbing              // checking a candidate name
	phaseUp                   // registered
)

// runner is the advertiser's state, owned by its one goroutine.
type runner struct {
	a       *Advertiser
	ifaces  []net.Interface
	ifState string
	c       *conn
	pkts    chan packet
	servers []*zeroconf.Server

	phase      phase
	attempt    int    // 1: the configured name, 2: "name (2)"…
	name       string // candidate (probing) or registered (up)
	step       int
	timerC     <-chan time.Time
	conflict   bool // a foreign answer for the candidate while probing
	lastDefend time.Time
	answered   map[string]time.Time // last host-name answer per interface and family
}

func (r *runner) run(ctx context.Context, ifaces []net.Interface) {
	defer r.stop()
	poll := time.NewTicker(r.a.cfg.PollInterval)
	defer poll.Stop()
	r.attempt = 1
	r.setIfaces(ifaces)
	for {
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
			r.poll()
		case <-r.a.changeC:
			if r.phase == phaseUp {
				r.reregister("txt changed")
			}
		case p := <-r.pkts:
			r.handle(p)
		case <-r.timerC:
			r.timerC = nil
			r.tick()
		}
	}
}

// setIfaces switches to a new interface set: new listener, and a fresh
// registration when there is anything to advertise on.
func (r *runner) setIfaces(ifaces []net.Interface) {
	r.ifaces, r.ifState = ifaces, ifaceState(ifaces)
	if r.c != nil {
		r.c.close()
		r.c = nil
	}
	r.a.setStatus(func(s *Status) { s.Interfaces = ifaceNames(ifaces) })
	if len(ifaces) == 0 {
		r.a.log.Warn("mdns not advertising: no usable network interface", "configured", r.a.cfg.Interfaces)
		r.unregister()
		r.phase = phaseIdle
		return
	}
	c, err := listen(ifaces)
	if err != nil {
		r.a.log.Warn("mdns listen", "interfaces", ifaceNames(ifaces), "err", err)
		r.unregister()
		r.phase = phaseIdle
		return
	}
	r.c = c
	c.start(r.pkts)
	if r.phase == phaseUp {
		r.reregister("network changed")
		return
	}
	r.startProbe()
}

func (r *runner) poll() {
	ifaces, err := Interfaces(r.a.cfg.Interfaces)
	if err != nil {
		// An explicitly named interface went away: use what remains.
		ifaces = r.remaining()
	}
	if ifaceState(ifaces) == r.ifState && (r.phase != phaseIdle || len(ifaces) == 0) {
		return
	}
	r.a.log.Info("mdns network interfaces changed", "interfaces", ifaceNames(ifaces))
	r.setIfaces(ifaces)
}

// remaining returns the configured interfaces that still exist and are up.
func (r *runner) remaining() []net.Interface {
	var out []net.Interface
	for _, n := range r.a.cfg.Interfaces {
		if l, err := Interfaces([]string{n}); err == nil {
			out = append(out, l...)
		}
	}
	return out
}

func (r *runner) names(name string) []string {
	base := escapeLabel(name) + "."
	out := []string{base + ServiceHearth + ".local."}
	if !r.a.cfg.NoHTTP {
		out = append(out, base+ServiceHTTP+".local.")
	}
	return out
}

func (r *runner) query(name string) {
	if r.c == nil {
		return
	}
	if err := r.c.send(question(dns.TypeANY, r.names(name)...)); err != nil {
		r.a.log.Debug("mdns query", "err", err)
	}
}

func (r *runner) startProbe() {
	r.phase, r.step, r.conflict = phaseProbing, 0, false
	r.name = candidateName(r.a.cfg.Name, r.attempt)
	r.tick()
}

// tick advances probing or verification.
func (r *runner) tick() {
	switch r.phase {
	case phaseProbing:
		if r.step < probeQueries {
			r.query(r.name)
			r.step++
			d := probeGap
			if r.step == probeQueries {
				d = probeWait
			}
			r.timerC = time.After(d)
			return
		}
		if r.conflict {
			r.a.log.Info("mdns name taken, trying another", "name", r.name)
			r.attempt++
			r.a.setStatus(func(s *Status) { s.Renames++ })
			r.startProbe()
			return
		}
		r.register()
	case phaseUp:
		// Verification queries: a device with the same name answers them.
		if r.step < 2 {
			r.query(r.name)
			r.step++
			r.timerC = time.After(verifyGap)
		}
	}
}

func (r *runner) register() {
	txt, err := r.a.records()
	if err != nil { // SetTXT checks this; unreachable in practice
		r.a.log.Error("mdns TXT record", "err", err)
		return
	}
	etxt := make([]string, len(txt))
	for i, s := range txt {
		etxt[i] = escapeTXT(s)
	}
	type reg struct {
		svc string
		txt []string
	}
	regs := []reg{{ServiceHearth, etxt}}
	if !r.a.cfg.NoHTTP {
		regs = append(regs, reg{ServiceHTTP, []string{"path=/", KeyID + "=" + escapeTXT(r.a.cfg.ID)}})
	}
	host := strings.TrimSuffix(r.a.host, ".local.")
	// One zeroconf server per interface and service: each is confined to
	// its interface (isolateServer), and answers with that interface's
	// addresses, read when it answers (no addresses are given).
	for _, ifi := range r.ifaces {
		for _, g := range regs {
			s, err := zeroconf.RegisterProxy(escapeLabel(r.name), g.svc, "local.", r.a.cfg.Port, host, nil, g.txt, []net.Interface{ifi})
			if err != nil {
				r.a.log.Warn("mdns register", "service", g.svc, "name", r.name, "iface", ifi.Name, "err", err)
				continue
			}
			if err := isolateServer(s, ifi.Name); err != nil {
				r.a.log.Warn("mdns confine zeroconf to its interface", "iface", ifi.Name, "err", err)
			}
			r.servers = append(r.servers, s)
		}
	}
	if len(r.servers) == 0 {
		r.phase = phaseIdle
		return
	}
	r.phase, r.step = phaseUp, 0
	name, ifs := r.name, ifaceNames(r.ifaces)
	r.a.setStatus(func(s *Status) {
		s.Name, s.Advertising = name, true
		s.Registrations++
	})
	r.a.log.Info("mdns advertising", "name", name, "host", r.a.host, "port", r.a.cfg.Port, "interfaces", ifs)
	r.timerC = time.After(verifyGap / 4)
}

// reregister announces again under the same name (new TXT or addresses):
// zeroconf cannot change a running registration safely, so the old one
// says goodbye and a new one announces; browsers that follow RFC 6762 keep
// the entry through the one-second goodbye grace.
func (r *runner) reregister(why string) {
	r.a.log.Debug("mdns re-announcing", "why", why)
	r.unregister()
	r.register()
}

// unregister shuts the zeroconf servers down; Shutdown sends the goodbye
// (every record with TTL 0).
func (r *runner) unregister() {
	for _, s := range r.servers {
		s.Shutdown()
	}
	r.servers = nil
	r.a.setStatus(func(s *Status) { s.Name, s.Advertising = "", false })
}

func (r *runner) stop() {
	r.unregister()
	if r.c != nil {
		r.c.close()
	}
	r.a.log.Debug("mdns stopped")
}

// handle looks at a packet for records of our names that another host
// owns.
func (r *runner) handle(p packet) {
	if r.phase == phaseIdle {
		return
	}
	if r.phase == phaseUp && !p.msg.Response {
		r.answerHost(p)
	}
	o := r.inspect(p.msg)
	if !o.foreign {
		return
	}
	switch r.phase {
	case phaseProbing:
		if !o.goodbye {
			r.conflict = true
		}
	case phaseUp:
		if o.goodbye || r.winsAgainst(o) {
			// We keep the name: answer for it so the other side (and every
			// cache) sees our records.
			if time.Since(r.lastDefend) >= defendGap {
				r.lastDefend = time.Now()
				r.a.log.Info("mdns defending name", "name", r.name, "otherHost", o.host, "otherID", o.id, "iface", p.iface)
				r.query(r.name)
			}
			return
		}
		r.a.log.Warn("mdns name conflict, renaming", "name", r.name, "otherHost", o.host, "otherID", o.id, "iface", p.iface)
		r.unregister()
		r.attempt++
		r.a.setStatus(func(s *Status) { s.Renames++ })
		r.startProbe()
	}
}

// answerHost answers A and AAAA questions for the device's host name,
// which zeroconf does not: without it, once the 120-second address records
// from an announcement expire, a browser that asks for the host's address
// (avahi does, to resolve a service) gets no answer. The answer carries
// the addresses of the interface the question came in on, goes out on
// that interface only, at most once per answerGap per interface and
// family, or straight back to a legacy unicast asker (RFC 6762 6.7).
func (r *runner) answerHost(p packet) {
	var want4, want6 bool
	for _, q := range p.msg.Question {
		if !strings.EqualFold(q.Name, r.a.host) {
			continue
		}
		switch q.Qtype {
		case dns.TypeA:
			want4 = true
		case dns.TypeAAAA:
			want6 = true
		case dns.TypeANY:
			want4, want6 = true, true
		}
	}
	if !want4 && !want6 {
		return
	}
	legacy := p.port != 0 && p.port != 5353
	if !legacy {
		now := time.Now()
		key := p.iface
		if want4 && !want6 {
			key += "/4"
		} else if want6 && !want4 {
			key += "/6"
		}
		if now.Sub(r.answered[key]) < answerGap {
			return
		}
		if r.answered == nil {
			r.answered = map[string]time.Time{}
		}
		r.answered[key] = now
	}
	ifi, err := net.InterfaceByName(p.iface)
	if err != nil {
		return
	}
	addrs, _ := ifi.Addrs()
	resp := new(dns.Msg)
	resp.Response, resp.Authoritative = true, true
	class := uint16(dns.ClassINET | cacheFlush)
	ttl := uint32(120)
	if legacy {
		// RFC 6762 6.7: echo the question and id, no cache-flush bit,
		// TTL at most 10 s.
		resp.Id, resp.Question = p.msg.Id, p.msg.Question
		class, ttl = dns.ClassINET, 10
	}
	var v6, v6ll []dns.RR
	for _, a := range addrs {
		pf, ok := prefixOf(a)
		if !ok || pf.Addr().IsLoopback() {
			continue
		}
		ip := pf.Addr()
		h := dns.RR_Header{Name: r.a.host, Class: class, Ttl: ttl}
		switch {
		case ip.Is4() && want4:
			h.Rrtype = dns.TypeA
			resp.Answer = append(resp.Answer, &dns.A{Hdr: h, A: ip.AsSlice()})
		case ip.Is6() && want6:
			h.Rrtype = dns.TypeAAAA
			rr := &dns.AAAA{Hdr: h, AAAA: ip.AsSlice()}
			if ip.IsLinkLocalUnicast() {
				v6ll = append(v6ll, rr)
			} else {
				v6 = append(v6, rr)
			}
		}
	}
	if len(v6) == 0 {
		v6 = v6ll // as zeroconf does: link-local only when there is nothing else
	}
	resp.Answer = append(resp.Answer, v6...)
	if len(resp.Answer) == 0 || r.c == nil {
		return
	}
	var dst *net.UDPAddr
	if legacy {
		dst = &net.UDPAddr{IP: p.src, Port: p.port}
		if p.src.IsLinkLocalUnicast() {
			dst.Zone = p.iface
		}
	}
	if err := r.c.reply(resp, p.iface, dst); err != nil {
		r.a.log.Debug("mdns answer for host name", "err", err)
	}
}

// answerGap limits multicast answers for the host name.
const answerGap = 250 * time.Millisecond

// winsAgainst breaks the tie between two registered devices with one
// name the way both compute alike: the lower SRV target (host name, which
// Hearth derives from the id) keeps the name, or, with only a TXT record
// to go by, the lower id. Unknown owners win: Hearth yields.
func (r *runner) winsAgainst(o other) bool {
	if o.host != "" {
		return strings.ToLower(r.a.host) < strings.ToLower(o.host)
	}
	return o.id != "" && r.a.cfg.ID < o.id
}

// other describes records for our name that another device sent.
type other struct {
	foreign bool   // some record for our name is not ours
	host    string // its SRV target, if the packet had one
	id      string // its TXT id, if the packet had one
	goodbye bool   // all those records had TTL 0
}

// inspect looks for records for our current name that are not ours: an
// SRV with another target, or a TXT with another id.
func (r *runner) inspect(m *dns.Msg) other {
	names := r.names(r.name)
	var o other
	o.goodbye = true
	check := func(rrs []dns.RR) {
		for _, rr := range rrs {
			h := rr.Header()
			if !containsFold(names, h.Name) {
				continue
			}
			switch rr := rr.(type) {
			case *dns.SRV:
				if !strings.EqualFold(rr.Target, r.a.host) {
					o.foreign, o.host = true, rr.Target
					o.goodbye = o.goodbye && h.Ttl == 0
				}
			case *dns.TXT:
				raw := make([]string, len(rr.Txt))
				for i, s := range rr.Txt {
					raw[i] = unescape(s)
				}
				if id := parseTXT(raw)[KeyID]; id != r.a.cfg.ID {
					o.foreign, o.id = true, id
					o.goodbye = o.goodbye && h.Ttl == 0
				}
			}
		}
	}
	if !m.Response {
		// A query's authority section is a probe: another device wants
		// the name. Once we hold it we answer (a probe never wins); while
		// probing ourselves, the verification queries sort it out.
		if r.phase != phaseUp {
			return other{}
		}
		check(m.Ns)
		if o.foreign {
			return other{foreign: true, goodbye: true}
		}
		return other{}
	}
	check(m.Answer)
	check(m.Ns)
	check(m.Extra)
	o.goodbye = o.foreign && o.goodbye
	return o
}

func containsFold(list []string, s string) bool {
	for _, l := range list {
		if strings.EqualFold(l, s) {
			return true
		}
	}
	return false
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
