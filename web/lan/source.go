package lan

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hearth-media/hearth/device/mdns"
	"github.com/hearth-media/hearth/engine/mutable"
)

// Holder is what the LAN source needs of the channel manager;
// *channel.Manager implements it. Both methods are safe for concurrent
// use.
type Holder interface {
	// Held returns the latest signed item of every channel the device
	// publishes or follows.
	Held() []mutable.Item
	// Offer hands over an item fetched from a neighbour and the
	// neighbour's BitTorrent address (none if it gave no port); the holder
	// checks the item (signature, channel, seq) and fetches the version if
	// it is newer, asking that address besides the peers it finds itself.
	// The item it holds already is offered too when the neighbour gave an
	// address: a fetch of that version that has no peer, or only dead
	// ones, gets one.
	Offer(it mutable.Item, peers ...netip.AddrPort) error
}

// Advertiser carries the channel tags in the device's mDNS TXT record;
// *mdns.Advertiser implements it.
type Advertiser interface {
	SetTXT(extra map[string]string) error
}

// Options configure New.
type Options struct {
	// ID is this device's id, the one its mDNS record carries (required).
	ID string
	// Holder is the channel manager; SetHolder sets it later (the manager
	// takes the Source in its options, so one of them comes second).
	Holder Holder
	// Advertiser gets the TXT keys KeyChannels and KeyStamp; nil: nothing
	// is advertised (Lookup and the endpoint still work).
	Advertiser Advertiser
	// PeerPort returns the port the BitTorrent engine takes peers on,
	// given to neighbours with each item; nil or 0: none.
	PeerPort func() int
	// Interfaces returns the interfaces to watch for neighbours (the ones
	// the device advertises on); it is called again every half minute and
	// the watch restarts when the set changes. Nil: no watching, Lookup
	// finds nobody.
	Interfaces func() ([]net.Interface, error)
	// Logger; nil discards.
	Logger *slog.Logger
	// HeldInterval is how often Holder.Held is read to update the TXT
	// record; 0 means 2 s. HeldChanged (and SetHolder) make it read at
	// once: with a holder that calls HeldChanged on every change (the
	// channel manager's OnChange, as the daemon wires it), this is only a
	// safety net and can be long. (The channel manager verifies every
	// item's signature in Held: milliseconds on a MIPS router.)
	HeldInterval time.Duration
	// FetchTimeout bounds one request to a neighbour; 0 means 5 s.
	FetchTimeout time.Duration
	// Swarm, when set, is the BitTorrent engine: the device asks its
	// neighbours which of its active torrents they have and adds them as
	// peers, and answers their questions (peers.go). Nil: that path is
	// off and PeersPath answers 404.
	Swarm Swarm
	// PeersInterval is how often every neighbour is asked about the
	// active torrents again; 0 means 3 minutes. A neighbour that appears
	// and a torrent added are asked about at once.
	PeersInterval time.Duration
}

// Limits.
const (
	maxNeighbours = 64  // Hearth devices remembered on the LAN
	maxWanted     = 256 // targets looked up recently
	wantedTTL     = 30 * time.Minute
	fetchers      = 4 // concurrent requests to neighbours
	// warmup is how long after the watch starts a Lookup waits for the
	// first answers (the browser asks at once and again after 1 s).
	warmup         = 2500 * time.Millisecond
	rewatchEvery   = 30 * time.Second
	retryWatchWait = 5 * time.Second
)

// Source is the channels' LAN fast path: it advertises which channels
// this device holds (as tags only neighbours that know the channel can
// recognise), serves their items to neighbours (Handler), finds
// neighbours that hold a channel (Lookup, channel.LAN), and offers the
// holder a neighbour's newer version as soon as the neighbour's record
// changes. Its methods are safe for concurrent use.
type Source struct {
	o      Options
	log    *slog.Logger
	client *http.Client
	limit  *limiter
	sem    chan struct{}
	// onLink says whether a neighbour's address may be contacted; tests
	// replace it to allow loopback.
	onLink func(netip.Addr) bool

	kickC chan struct{} // HeldChanged

	mu         sync.Mutex
	holder     Holder
	held       map[[20]byte]mutable.Item
	byToken    map[[32]byte][20]byte // queryToken(target, own id) → target
	txt        map[string]string     // last advertised
	neighbours map[string]*neighbour
	wanted     map[[20]byte]time.Time
	ifaces     []net.Interface
	watchFrom  time.Time // when the current watch started; zero: none
	full       bool      // neighbour table full was logged

	tp *torrentPeers // torrents in common (peers.go); nil without Options.Swarm

	wg sync.WaitGroup
}

// neighbour is another Hearth device seen over mDNS.
type neighbour struct {
	instance string
	id       string
	addrs    []netip.Addr
	port     int
	tags     tagSet
	stamp    string
	checking bool // a check of its channels runs
	again    bool // its record changed during the check
}

// New checks o and returns a Source; Serve runs it.
func New(o Options) (*Source, error) {
	if o.ID == "" {
		return nil, errors.New("lan: device id required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.HeldInterval <= 0 {
		o.HeldInterval = 2 * time.Second
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = 5 * time.Second
	}
	s := &Source{
		o:   o,
		log: o.Logger.With("component", "lan"),
		client: &http.Client{
			Transport: &http.Transport{
				Proxy:                  nil, // a LAN neighbour, never through a proxy
				DialContext:            (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
				MaxIdleConns:           8,
				IdleConnTimeout:        30 * time.Second,
				ResponseHeaderTimeout:  o.FetchTimeout,
				MaxResponseHeaderBytes: 8 << 10,
				DisableCompression:     true,
			},
			// A neighbour must not send the device elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Timeout:       o.FetchTimeout,
		},
		limit:      newLimiter(),
		sem:        make(chan struct{}, fetchers),
		kickC:      make(chan struct{}, 1),
		holder:     o.Holder,
		held:       map[[20]byte]mutable.Item{},
		neighbours: map[string]*neighbour{},
		wanted:     map[[20]byte]time.Time{},
	}
	s.onLink = s.addrOnLink
	if o.Swarm != nil {
		s.tp = newTorrentPeers(o.PeersInterval)
	}
	return s, nil
}

// SetHolder sets the holder when it could not be given to New; its
// items are advertised at once.
func (s *Source) SetHolder(h Holder) {
	s.mu.Lock()
	s.holder = h
	s.mu.Unlock()
	s.HeldChanged()
}

func (s *Source) getHolder() Holder {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.holder
}

// Serve keeps the TXT record in step with the held channels and watches
// the LAN for neighbours until ctx ends; then it waits for the requests
// it started and returns nil.
func (s *Source) Serve(ctx context.Context) error {
	defer s.wg.Wait()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.watchLoop(ctx)
	}()
	if s.tp != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.peersLoop(ctx)
		}()
	}
	t := time.NewTicker(s.o.HeldInterval)
	defer t.Stop()
	for {
		s.refreshHeld()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.kickC:
		}
	}
}

// HeldChanged tells the source that the holder's items changed (a
// publish, a new version installed), so it advertises them now instead of
// at the next HeldInterval tick. It never blocks.
func (s *Source) HeldChanged() {
	select {
	case s.kickC <- struct{}{}:
	default:
	}
}

// refreshHeld reads the holder's items and advertises their tags when
// they changed.
func (s *Source) refreshHeld() {
	h := s.getHolder()
	if h == nil {
		return
	}
	held := map[[20]byte]mutable.Item{}
	for _, it := range h.Held() {
		t := it.Target()
		if old, ok := held[t]; !ok || it.Seq > old.Seq {
			held[t] = it
		}
	}
	txt := txtFor(s.o.ID, held)
	byToken := make(map[[32]byte][20]byte, len(held))
	for t := range held {
		byToken[queryToken(t, s.o.ID)] = t
	}
	s.mu.Lock()
	s.held, s.byToken = held, byToken
	same := maps.Equal(txt, s.txt)
	s.txt = txt
	now := time.Now()
	for t, at := range s.wanted {
		if _, ok := held[t]; ok || now.Sub(at) > wantedTTL {
			delete(s.wanted, t) // held now: the holder asks for it itself
		}
	}
	s.mu.Unlock()
	if same || s.o.Advertiser == nil {
		return
	}
	err := s.o.Advertiser.SetTXT(txt)
	if err != nil && txt[KeyChannels] != AllChannels {
		// The record is full (a long name or model): say "ask me".
		txt[KeyChannels] = AllChannels
		err = s.o.Advertiser.SetTXT(txt)
	}
	if err != nil {
		s.log.Warn("advertise channel tags", "err", err)
		s.mu.Lock()
		s.txt = nil // try again next time
		s.mu.Unlock()
		return
	}
	s.log.Debug("channel tags advertised", "channels", len(held), "stamp", txt[KeyStamp])
}

// itemByToken returns the held item a query token stands for.
func (s *Source) itemByToken(token [32]byte) (mutable.Item, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.byToken[token]
	if !ok {
		return mutable.Item{}, false
	}
	it, ok := s.held[t]
	return it, ok
}

func (s *Source) heldItem(target [20]byte) (mutable.Item, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.held[target]
	return it, ok
}

// watchLoop runs mdns.Watch on the current interfaces, restarting it when
// they change or it fails.
func (s *Source) watchLoop(ctx context.Context) {
	if s.o.Interfaces == nil {
		return
	}
	warned := false
	for ctx.Err() == nil {
		ifaces, err := s.o.Interfaces()
		if err != nil || len(ifaces) == 0 {
			if !warned {
				// device/mdns already warns about it.
				s.log.Debug("channels' LAN path waits for a network interface to watch", "err", err)
				warned = true
			}
			sleep(ctx, rewatchEvery)
			continue
		}
		warned = false
		s.watch(ctx, ifaces)
	}
}

// watch runs one mdns.Watch until ctx ends, it fails, or the interface
// set changes.
func (s *Source) watch(ctx context.Context, ifaces []net.Interface) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	names := ifaceNames(ifaces)
	s.mu.Lock()
	s.ifaces, s.watchFrom = ifaces, time.Now()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.watchFrom = time.Time{}
		clear(s.neighbours)
		s.mu.Unlock()
	}()
	s.log.Debug("watching the LAN for Hearth devices", "interfaces", names)
	errc := make(chan error, 1)
	go func() {
		errc <- mdns.Watch(wctx, mdns.ServiceHearth, ifaces, func(ev mdns.Event) { s.event(ctx, ev) })
	}()
	t := time.NewTicker(rewatchEvery)
	defer t.Stop()
	for {
		select {
		case err := <-errc:
			if ctx.Err() == nil {
				s.log.Warn("watch the LAN for Hearth devices", "interfaces", names, "err", err)
				sleep(ctx, retryWatchWait)
			}
			return
		case <-t.C:
			now, err := s.o.Interfaces()
			if err == nil && !slices.Equal(ifaceNames(now), names) {
				s.log.Debug("network interfaces changed; watching again", "was", names, "now", ifaceNames(now))
				cancel()
				<-errc
				return
			}
		}
	}
}

func ifaceNames(ifaces []net.Interface) []string {
	out := make([]string, len(ifaces))
	for i, ifi := range ifaces {
		out[i] = ifi.Name
	}
	return out
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// event takes a change from mdns.Watch (on its goroutine: it must not
// block); the requests it starts end with ctx.
func (s *Source) event(ctx context.Context, ev mdns.Event) {
	e := ev.Entry
	if e.ID == "" || e.ID == s.o.ID {
		return // not Hearth, or this device itself
	}
	key := strings.ToLower(e.Instance)
	s.mu.Lock()
	defer s.mu.Unlock()
	if ev.Kind == mdns.Removed {
		delete(s.neighbours, key)
		return
	}
	n := s.neighbours[key]
	if n == nil {
		if len(s.neighbours) >= maxNeighbours {
			if !s.full {
				s.log.Warn("too many Hearth devices on the LAN; ignoring the rest", "max", maxNeighbours)
				s.full = true
			}
			return
		}
		n = &neighbour{instance: e.Instance}
		s.neighbours[key] = n
	}
	tags, stamp := parseTags(e.TXT[KeyChannels]), e.TXT[KeyStamp]
	if ev.Kind == mdns.Added || n.id != e.ID || !slices.Equal(n.addrs, e.Addrs) || n.port != e.Port {
		s.neighbourSeen(key) // ask it about the torrents in common (peers.go)
	}
	changed := ev.Kind == mdns.Added || n.stamp != stamp || n.id != e.ID ||
		!slices.Equal(n.addrs, e.Addrs) || n.port != e.Port
	n.id, n.addrs, n.port, n.tags, n.stamp = e.ID, slices.Clone(e.Addrs), e.Port, tags, stamp
	if !changed || tags.empty() {
		return
	}
	if n.checking {
		n.again = true
		return
	}
	n.checking = true
	s.wg.Add(1)
	go s.check(ctx, key)
}

// check fetches, from neighbour key, the items of the channels this
// device holds or looked up that the neighbour advertises, and offers the
// newer ones to the holder.
func (s *Source) check(ctx context.Context, key string) {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		n := s.neighbours[key]
		if n == nil {
			s.mu.Unlock()
			return
		}
		snap := *n
		var targets [][20]byte
		for t := range s.held {
			if n.tags.has(t, n.id) {
				targets = append(targets, t)
			}
		}
		for t := range s.wanted {
			if _, ok := s.held[t]; !ok && n.tags.has(t, n.id) {
				targets = append(targets, t)
			}
		}
		s.mu.Unlock()

		for _, t := range targets {
			if ctx.Err() != nil {
				break
			}
			s.offerFrom(ctx, snap, t)
		}

		s.mu.Lock()
		n = s.neighbours[key]
		if n == nil || !n.again {
			if n != nil {
				n.checking = false
			}
			s.mu.Unlock()
			return
		}
		n.again = false
		s.mu.Unlock()
	}
}

// offerFrom fetches target's item from n and offers it if it is newer
// than the one held.
func (s *Source) offerFrom(ctx context.Context, n neighbour, target [20]byte) {
	ctx, cancel := context.WithTimeout(ctx, 2*s.o.FetchTimeout)
	defer cancel()
	it, peer, err := s.fetch(ctx, n, target)
	if err != nil {
		s.log.Debug("channel item from LAN neighbour", "neighbour", n.instance, "target", hex.EncodeToString(target[:]), "err", err)
		return
	}
	// The version held already: its peer may still be what the holder's
	// fetch of it lacks (its own lookup found nobody while the mDNS view
	// churned), so it is offered for the address, if there is one.
	held, ok := s.heldItem(target)
	if ok && (it.Seq < held.Seq || it.Seq == held.Seq && !peer.IsValid()) {
		return
	}
	h := s.getHolder()
	if h == nil {
		return
	}
	var peers []netip.AddrPort
	if peer.IsValid() {
		peers = append(peers, peer)
	}
	if err := h.Offer(it, peers...); err != nil {
		s.log.Debug("offer channel item from LAN neighbour", "neighbour", n.instance, "target", hex.EncodeToString(target[:]), "version", it.Seq, "err", err)
		return
	}
	if ok && it.Seq == held.Seq {
		s.log.Debug("peer of a channel version offered by a LAN neighbour", "neighbour", n.instance, "target", hex.EncodeToString(target[:]), "version", it.Seq, "peer", peer)
		return
	}
	s.log.Info("channel version offered by a LAN neighbour", "neighbour", n.instance, "target", hex.EncodeToString(target[:]), "version", it.Seq, "peer", peer)
}

// errNotHeld: the neighbour answered 404.
var errNotHeld = errors.New("lan: neighbour does not hold the channel")

// fetch asks neighbour n for target's item, trying its addresses in
// order until one answers. peer is the neighbour's BitTorrent address
// (invalid if it gave no port).
func (s *Source) fetch(ctx context.Context, n neighbour, target [20]byte) (it mutable.Item, peer netip.AddrPort, err error) {
	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	case <-ctx.Done():
		return it, peer, ctx.Err()
	}
	err = errors.New("lan: no usable address")
	for _, a := range n.addrs {
		if !s.onLink(a) {
			continue
		}
		var port int
		it, port, err = s.get(ctx, a, n.port, n.id, target)
		if err == nil {
			if port > 0 {
				peer = netip.AddrPortFrom(a, uint16(port))
			}
			return it, peer, nil
		}
		if errors.Is(err, errNotHeld) || errors.Is(err, errBadAnswer) || ctx.Err() != nil {
			return it, peer, err
		}
	}
	return it, peer, err
}

func (s *Source) get(ctx context.Context, a netip.Addr, port int, id string, target [20]byte) (mutable.Item, int, error) {
	if port <= 0 || port > 65535 {
		return mutable.Item{}, 0, fmt.Errorf("%w: port %d", errBadAnswer, port)
	}
	token := queryToken(target, id)
	u := neighbourURL(a, port, ItemsPath+hex.EncodeToString(token[:]))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return mutable.Item{}, 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return mutable.Item{}, 0, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return mutable.Item{}, 0, errNotHeld
	default:
		return mutable.Item{}, 0, fmt.Errorf("neighbour %s answered %s", a, resp.Status)
	}
	return decodeItem(resp.Body, target)
}

// neighbourURL is http://a:port path, with an IPv6 zone escaped.
func neighbourURL(a netip.Addr, port int, path string) string {
	host := a.WithZone("").String()
	if a.Is6() {
		host = "[" + host
		if z := a.Zone(); z != "" {
			host += "%25" + url.PathEscape(z)
		}
		host += "]"
	}
	return "http://" + host + ":" + strconv.Itoa(port) + path
}

// addrOnLink reports whether a is an address on one of the watched
// interfaces' networks: a neighbour's record may name any address, and
// the device must not be talked into connecting elsewhere (the internet,
// itself).
func (s *Source) addrOnLink(a netip.Addr) bool {
	if !a.IsValid() || a.IsLoopback() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	s.mu.Lock()
	ifaces := s.ifaces
	s.mu.Unlock()
	for _, ifi := range ifaces {
		if a.Is6() && a.IsLinkLocalUnicast() {
			if a.Zone() == ifi.Name {
				return true
			}
			continue
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			continue
		}
		for _, ia := range addrs {
			n, ok := ia.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(n.IP)
			if !ok {
				continue
			}
			bits, _ := n.Mask.Size()
			p := netip.PrefixFrom(ip.Unmap(), bits).Masked()
			if p.Contains(a.WithZone("")) && a.WithZone("") != ip.Unmap() {
				return true
			}
		}
	}
	return false
}

// Lookup returns the items neighbours hold for target (the newest
// version found; older ones are left out) and the BitTorrent addresses of
// every neighbour that holds it. It implements channel.LAN. With no
// neighbour advertising the target it returns an error wrapping
// mutable.ErrNotFound, and remembers the target for a while: a neighbour
// that starts advertising it is asked at once and its item offered to the
// holder.
func (s *Source) Lookup(ctx context.Context, target [20]byte) ([]mutable.Item, []string, error) {
	s.mu.Lock()
	if len(s.wanted) < maxWanted {
		s.wanted[target] = time.Now()
	} else if _, ok := s.wanted[target]; ok {
		s.wanted[target] = time.Now()
	}
	from := s.watchFrom
	s.mu.Unlock()
	if !from.IsZero() {
		if wait := time.Until(from.Add(warmup)); wait > 0 {
			sleep(ctx, wait)
		}
	}

	s.mu.Lock()
	var cands []neighbour
	for _, n := range s.neighbours {
		if n.tags.has(target, n.id) {
			cands = append(cands, *n)
		}
	}
	s.mu.Unlock()
	if len(cands) == 0 {
		return nil, nil, fmt.Errorf("%w: no Hearth device on the LAN advertises the channel", mutable.ErrNotFound)
	}

	type result struct {
		it   mutable.Item
		peer netip.AddrPort
		err  error
	}
	res := make(chan result, len(cands))
	for _, n := range cands {
		go func() {
			it, peer, err := s.fetch(ctx, n, target)
			if err != nil {
				err = fmt.Errorf("%s: %w", n.instance, err)
			}
			res <- result{it, peer, err}
		}()
	}
	var (
		items []mutable.Item
		peers []string
		errs  []error
	)
	for range cands {
		r := <-res
		if r.err != nil {
			if !errors.Is(r.err, errNotHeld) {
				errs = append(errs, r.err)
			}
			continue
		}
		if p := r.peer.String(); r.peer.IsValid() && !slices.Contains(peers, p) {
			peers = append(peers, p)
		}
		switch {
		case len(items) == 0 || r.it.Seq > items[0].Seq:
			items = []mutable.Item{r.it}
		case r.it.Seq == items[0].Seq && !slices.ContainsFunc(items, func(x mutable.Item) bool { return sameItem(x, r.it) }):
			items = append(items, r.it)
		}
	}
	if len(items) == 0 {
		if len(errs) == 0 {
			return nil, nil, fmt.Errorf("%w: no Hearth device on the LAN holds the channel", mutable.ErrNotFound)
		}
		return nil, nil, errors.Join(errs...)
	}
	return items, peers, nil
}

func sameItem(a, b mutable.Item) bool {
	return a.Seq == b.Seq && a.Sig == b.Sig && string(a.Value) == string(b.Value)
}
