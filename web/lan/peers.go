package lan

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearth-media/hearth/engine"
)

// Torrents in common (see the package documentation): the neighbours the
// Source watches for the channels are also asked, in one request each,
// which of this device's active torrents they have; each one that has a
// torrent becomes a BitTorrent peer of it at its LAN address. The
// question carries tokens, never infohashes.

// PeersPath is where a device answers POST {"tokens": [...]} with the
// tokens it recognises: torrents it has that the asker asked about.
const PeersPath = "/lan/v1/peers"

// Swarm is what the torrents' LAN path needs of the BitTorrent engine;
// *engine.Engine implements it. Both methods are safe for concurrent use.
type Swarm interface {
	// List returns every torrent (infohash, state, privacy, when added).
	List() []engine.Torrent
	// AddPeers makes a running torrent connect to host:port peers.
	AddPeers(id int64, addrs []string) error
}

const (
	// peersDomain separates a torrent question from a channel question
	// about the same 20 bytes (askToken).
	peersDomain = "hearth lan torrent query v1\x00"
	// defaultPeersInterval is how often every neighbour is asked again
	// (Options.PeersInterval): peers found on the LAN stay in the
	// engine's peer list, so this only catches what changed without an
	// mDNS event (a neighbour that started a torrent we have too).
	defaultPeersInterval = 3 * time.Minute
	// scanEvery is how often the torrent list is read, while there are
	// neighbours, to ask about a torrent added or started since: the
	// engine has no add event. Transmission remotes and the LED loop read
	// it as often.
	scanEvery = 2 * time.Second
	// recentAdd: a torrent added this recently is asked about while the
	// engine checks its data (it may turn out incomplete).
	recentAdd = 10 * time.Minute
	// maxPeerTokens is the most tokens in one question: the most recently
	// added torrents first when a device has more active ones.
	maxPeerTokens = 256
	// padTo: a question is padded with random tokens to a multiple of
	// padTo, so a neighbour learns the number of active torrents only
	// roughly.
	padTo = 16
	// maxPeersBody caps a question and an answer: 256 tokens of 64 hex
	// digits in JSON are 17,165 bytes.
	maxPeersBody = 20 << 10
	// heldTTL is how long the answering side reuses its list of torrents
	// (a List and an HMAC per torrent).
	heldTTL = 2 * time.Second
	// reaskGap: a neighbour whose record changes again (a flapping
	// address) is not asked twice within this time unless there is
	// something new to ask about.
	reaskGap = 10 * time.Second
)

// peersToken is what this device sends the neighbour with id to ask
// whether it has the torrent with infohash ih.
func peersToken(ih [20]byte, id string) [32]byte {
	return askToken(ih, peersDomain, id)
}

// peersQuery is the body of POST PeersPath.
type peersQuery struct {
	Tokens []string `json:"tokens"` // 64 lowercase hex digits each, at most maxPeerTokens
}

// peersAnswer is its answer: the tokens recognised, and the port the
// device's engine takes peers on (the address is the one asked).
type peersAnswer struct {
	Held     []string `json:"held"`
	PeerPort int      `json:"peerPort"`
}

// torrentPeers is the torrents' LAN path state of a Source.
type torrentPeers struct {
	every time.Duration
	limit *limiter
	kickC chan struct{}

	mu        sync.Mutex
	asks      []askTorrent // what to ask about, from the last scan; replaced, never changed
	askSet    map[[20]byte]bool
	gen       uint64 // grows when asks gains a torrent
	scannedAt time.Time
	nb        map[string]*peerNeighbour // by neighbour key

	heldMu sync.Mutex
	heldAt time.Time
	held   map[[32]byte]bool // peersToken(ih, own id) of the torrents answered for; replaced, never changed

	// Counters of the answering side (tests, debugging).
	queries, asked, matched atomic.Int64
}

// askTorrent is an active torrent of this device.
type askTorrent struct {
	id    int64
	ih    [20]byte
	added time.Time
}

// peerNeighbour is what the torrents' path remembers of a neighbour.
type peerNeighbour struct {
	pending  bool // ask it at the next dispatch
	busy     bool // a question to it is under way
	askedAt  time.Time
	askedGen uint64
	added    map[[20]byte]string // torrent → peer address given to the engine (log once)
}

func newTorrentPeers(every time.Duration) *torrentPeers {
	if every <= 0 {
		every = defaultPeersInterval
	}
	return &torrentPeers{
		every:  every,
		limit:  newLimiter(),
		kickC:  make(chan struct{}, 1),
		askSet: map[[20]byte]bool{},
		nb:     map[string]*peerNeighbour{},
	}
}

func (p *torrentPeers) kick() {
	select {
	case p.kickC <- struct{}{}:
	default:
	}
}

// askable reports whether this device asks its neighbours about t:
// public, running, and not complete (or just added and being checked).
// A torrent without metadata counts as public: nobody answers for a
// private one (answerable), so its peers still never come from the LAN.
func askable(t engine.Torrent, now time.Time) bool {
	if t.Private {
		return false
	}
	switch t.State {
	case engine.StateDownloading, engine.StateMetadata:
		return true
	case engine.StateChecking:
		return now.Sub(t.AddedAt) < recentAdd
	}
	return false
}

// answerable reports whether this device tells a neighbour it has t:
// public (BEP 27: a private torrent's peers come from its tracker only)
// and running, so that a connection to it is accepted.
func answerable(t engine.Torrent) bool {
	return t.HasMetadata && !t.Private && (t.State == engine.StateSeeding || t.State == engine.StateDownloading)
}

func parseInfohash(s string) ([20]byte, bool) {
	var ih [20]byte
	if len(s) != 40 {
		return ih, false
	}
	_, err := hex.Decode(ih[:], []byte(s))
	return ih, err == nil
}

// neighbourSeen is called by event (with s.mu held) for a neighbour that
// appeared or moved: it is asked soon.
func (s *Source) neighbourSeen(key string) {
	p := s.tp
	if p == nil {
		return
	}
	p.mu.Lock()
	st := p.nb[key]
	if st == nil {
		st = &peerNeighbour{added: map[[20]byte]string{}}
		p.nb[key] = st
	}
	if !st.busy && st.askedGen == p.gen && time.Since(st.askedAt) < reaskGap {
		p.mu.Unlock()
		return
	}
	st.pending = true
	p.mu.Unlock()
	p.kick()
}

// peersLoop asks neighbours about the active torrents until ctx ends.
func (s *Source) peersLoop(ctx context.Context) {
	p := s.tp
	scan := time.NewTicker(scanEvery)
	defer scan.Stop()
	round := time.NewTicker(p.every)
	defer round.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-scan.C:
			if s.hasNeighbours() {
				s.scanTorrents(time.Now())
			}
		case <-round.C:
			p.mu.Lock()
			for _, st := range p.nb {
				st.pending = true
			}
			p.mu.Unlock()
		case <-p.kickC:
			// A neighbour appeared; without neighbours the list was not
			// read.
			p.mu.Lock()
			stale := time.Since(p.scannedAt) >= scanEvery
			p.mu.Unlock()
			if stale {
				s.scanTorrents(time.Now())
			}
		}
		s.dispatchPeers(ctx)
	}
}

func (s *Source) hasNeighbours() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.neighbours) > 0
}

// scanTorrents reads the engine's list; a torrent to ask about that was
// not there before makes every neighbour due.
func (s *Source) scanTorrents(now time.Time) {
	var asks []askTorrent
	for _, t := range s.o.Swarm.List() {
		if !askable(t, now) {
			continue
		}
		if ih, ok := parseInfohash(t.InfoHash); ok {
			asks = append(asks, askTorrent{id: t.ID, ih: ih, added: t.AddedAt})
		}
	}
	if len(asks) > maxPeerTokens {
		slices.SortStableFunc(asks, func(a, b askTorrent) int { return b.added.Compare(a.added) })
		asks = asks[:maxPeerTokens]
	}
	set := make(map[[20]byte]bool, len(asks))
	p := s.tp
	p.mu.Lock()
	defer p.mu.Unlock()
	fresh := false
	for _, a := range asks {
		set[a.ih] = true
		fresh = fresh || !p.askSet[a.ih]
	}
	p.asks, p.askSet, p.scannedAt = asks, set, now
	if fresh {
		p.gen++
		for _, st := range p.nb {
			st.pending = true
		}
	}
}

// dispatchPeers starts a question to every due neighbour that has none
// under way.
func (s *Source) dispatchPeers(ctx context.Context) {
	s.mu.Lock()
	nbs := make(map[string]neighbour, len(s.neighbours))
	for k, n := range s.neighbours {
		nbs[k] = *n
	}
	s.mu.Unlock()

	p := s.tp
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	for k, st := range p.nb {
		n, ok := nbs[k]
		switch {
		case !ok && !st.busy:
			delete(p.nb, k) // gone (goodbye, or the watch restarted)
		case !ok, !st.pending, st.busy:
		case len(p.asks) == 0:
			st.pending = false // nothing to ask; a new torrent makes it due again
		default:
			st.pending, st.busy, st.askedAt, st.askedGen = false, true, now, p.gen
			s.wg.Add(1)
			go s.askNeighbour(ctx, k, n, p.asks)
		}
	}
}

// askNeighbour asks n about asks and adds it as a peer of the torrents
// it has.
func (s *Source) askNeighbour(ctx context.Context, key string, n neighbour, asks []askTorrent) {
	defer s.wg.Done()
	p := s.tp
	defer func() {
		p.mu.Lock()
		again := false
		if st := p.nb[key]; st != nil {
			st.busy = false
			again = st.pending
		}
		p.mu.Unlock()
		if again {
			p.kick()
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, 2*s.o.FetchTimeout)
	defer cancel()
	byToken := make(map[[32]byte]askTorrent, len(asks))
	for _, a := range asks {
		byToken[peersToken(a.ih, n.id)] = a
	}
	held, peer, err := s.askPeers(ctx, n, byToken)
	if err != nil {
		s.log.Debug("ask a LAN neighbour about torrents", "neighbour", n.instance, "torrents", len(asks), "err", err)
		return
	}
	s.log.Debug("LAN neighbour asked about torrents", "neighbour", n.instance, "torrents", len(asks), "held", len(held), "peer", peer)
	if peer == "" {
		return
	}
	for _, a := range held {
		if err := s.o.Swarm.AddPeers(a.id, []string{peer}); err != nil {
			s.log.Debug("add a LAN neighbour as a peer", "neighbour", n.instance, "torrent", a.id, "err", err)
			continue
		}
		p.mu.Lock()
		st := p.nb[key]
		first := st != nil && st.added[a.ih] != peer
		if first {
			st.added[a.ih] = peer
		}
		p.mu.Unlock()
		if first {
			s.log.Info("torrent peer from a LAN neighbour", "neighbour", n.instance, "torrent", a.id,
				"infoHash", hex.EncodeToString(a.ih[:]), "peer", peer)
		}
	}
}

// askPeers sends n the tokens of byToken (padded with random ones) and
// returns the torrents it has and its peer address ("" without a peer
// port), trying its addresses on the link in order.
func (s *Source) askPeers(ctx context.Context, n neighbour, byToken map[[32]byte]askTorrent) ([]askTorrent, string, error) {
	tokens := make([][32]byte, 0, len(byToken)+padTo)
	for t := range byToken {
		tokens = append(tokens, t)
	}
	for len(tokens)%padTo != 0 && len(tokens) < maxPeerTokens {
		var t [32]byte
		rand.Read(t[:])
		tokens = append(tokens, t)
	}
	// Sorted: the order says nothing about which token is real.
	slices.SortFunc(tokens, func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) })

	select {
	case s.sem <- struct{}{}:
		defer func() { <-s.sem }()
	case <-ctx.Done():
		return nil, "", ctx.Err()
	}
	err := errors.New("lan: no usable address")
	for _, a := range n.addrs {
		if !s.onLink(a) {
			continue
		}
		var held [][32]byte
		var port int
		held, port, err = s.postPeers(ctx, a, n.port, tokens)
		if err == nil {
			out := make([]askTorrent, 0, len(held))
			for _, t := range held {
				at, ok := byToken[t]
				if !ok {
					// A padding token: nobody can recognise one.
					return nil, "", fmt.Errorf("%w: a token that was not a question is held", errBadAnswer)
				}
				out = append(out, at)
			}
			peer := ""
			if port > 0 {
				peer = netip.AddrPortFrom(a, uint16(port)).String()
			}
			return out, peer, nil
		}
		if errors.Is(err, errBadAnswer) || ctx.Err() != nil {
			return nil, "", err
		}
	}
	return nil, "", err
}

func (s *Source) postPeers(ctx context.Context, a netip.Addr, port int, tokens [][32]byte) ([][32]byte, int, error) {
	if port <= 0 || port > 65535 {
		return nil, 0, fmt.Errorf("%w: port %d", errBadAnswer, port)
	}
	q := peersQuery{Tokens: make([]string, len(tokens))}
	asked := make(map[[32]byte]bool, len(tokens))
	for i, t := range tokens {
		q.Tokens[i] = hex.EncodeToString(t[:])
		asked[t] = true
	}
	body, err := json.Marshal(q)
	if err != nil {
		return nil, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, neighbourURL(a, port, PeersPath), bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// 404 or 401: a device with the path off, or an older Hearth.
		return nil, 0, fmt.Errorf("neighbour %s answered %s", a, resp.Status)
	}
	return decodePeersAnswer(resp.Body, asked)
}

// decodePeersAnswer reads a neighbour's answer strictly: one JSON object
// of known fields, at most maxPeersBody bytes, every held token one that
// was asked and none twice, a valid port.
func decodePeersAnswer(r io.Reader, asked map[[32]byte]bool) ([][32]byte, int, error) {
	var a peersAnswer
	if err := decodeStrict(r, &a, errBadAnswer); err != nil {
		return nil, 0, err
	}
	if len(a.Held) > len(asked) {
		return nil, 0, fmt.Errorf("%w: %d tokens held, %d asked", errBadAnswer, len(a.Held), len(asked))
	}
	if a.PeerPort < 0 || a.PeerPort > 65535 {
		return nil, 0, fmt.Errorf("%w: peer port %d", errBadAnswer, a.PeerPort)
	}
	held := make([][32]byte, 0, len(a.Held))
	seen := make(map[[32]byte]bool, len(a.Held))
	for _, h := range a.Held {
		t, ok := parseToken(h)
		if !ok {
			return nil, 0, fmt.Errorf("%w: held token %.70q", errBadAnswer, h)
		}
		if !asked[t] || seen[t] {
			return nil, 0, fmt.Errorf("%w: held token %s not asked, or twice", errBadAnswer, h)
		}
		seen[t] = true
		held = append(held, t)
	}
	return held, a.PeerPort, nil
}

// decodeQuery reads a question: at most maxPeerTokens valid tokens,
// returned without duplicates.
func decodeQuery(r io.Reader) ([][32]byte, error) {
	var q peersQuery
	if err := decodeStrict(r, &q, errBadQuery); err != nil {
		return nil, err
	}
	if len(q.Tokens) > maxPeerTokens {
		return nil, fmt.Errorf("%w: %d tokens, at most %d", errBadQuery, len(q.Tokens), maxPeerTokens)
	}
	out := make([][32]byte, 0, len(q.Tokens))
	seen := make(map[[32]byte]bool, len(q.Tokens))
	for _, s := range q.Tokens {
		t, ok := parseToken(s)
		if !ok {
			return nil, fmt.Errorf("%w: token %.70q", errBadQuery, s)
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out, nil
}

// errBadQuery: a neighbour's question is malformed.
var errBadQuery = errors.New("lan: bad question")

// decodeStrict reads one JSON object of v's fields from at most
// maxPeersBody bytes; what is wrong with it wraps bad.
func decodeStrict(r io.Reader, v any, bad error) error {
	b, err := io.ReadAll(io.LimitReader(r, maxPeersBody+1))
	if err != nil {
		return fmt.Errorf("%w: read: %v", bad, err)
	}
	if len(b) > maxPeersBody {
		return fmt.Errorf("%w: over %d bytes", bad, maxPeersBody)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", bad, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: data after the JSON object", bad)
	}
	return nil
}

// heldTorrents returns the tokens this device recognises: peersToken of
// every torrent it answers for, over its own id. Read again at most every
// heldTTL.
func (s *Source) heldTorrents() map[[32]byte]bool {
	p := s.tp
	p.heldMu.Lock()
	defer p.heldMu.Unlock()
	if p.held != nil && time.Since(p.heldAt) < heldTTL {
		return p.held
	}
	held := map[[32]byte]bool{}
	for _, t := range s.o.Swarm.List() {
		if !answerable(t) {
			continue
		}
		if ih, ok := parseInfohash(t.InfoHash); ok {
			held[peersToken(ih, s.o.ID)] = true
		}
	}
	p.held, p.heldAt = held, time.Now()
	return held
}

// servePeers answers POST PeersPath.
func (s *Source) servePeers(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeJSONError(w, http.StatusMethodNotAllowed, "only POST")
		return
	}
	p := s.tp
	if p == nil {
		writeJSONError(w, http.StatusNotFound, "torrents are not shared on the LAN here")
		return
	}
	from := clientAddr(r)
	if ok, retry := p.limit.allow(from, time.Now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds()+0.999)))
		writeJSONError(w, http.StatusTooManyRequests, "too many requests")
		return
	}
	if r.URL.Path != PeersPath || r.URL.RawQuery != "" {
		writeJSONError(w, http.StatusBadRequest, "want POST "+PeersPath)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeJSONError(w, http.StatusUnsupportedMediaType, "want Content-Type: application/json")
		return
	}
	tokens, err := decodeQuery(http.MaxBytesReader(w, r.Body, maxPeersBody))
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error()+`; want {"tokens": [at most 256 strings of 64 lowercase hex digits]}`)
		return
	}
	held := s.heldTorrents()
	ans := peersAnswer{Held: []string{}}
	for _, t := range tokens {
		if held[t] {
			ans.Held = append(ans.Held, hex.EncodeToString(t[:]))
		}
	}
	if s.o.PeerPort != nil {
		ans.PeerPort = s.o.PeerPort()
	}
	p.queries.Add(1)
	p.asked.Add(int64(len(tokens)))
	p.matched.Add(int64(len(ans.Held)))
	s.log.Debug("LAN torrent question answered", "from", from, "asked", len(tokens), "held", len(ans.Held))
	b, err := json.Marshal(ans)
	if err != nil {
		writeJSONError(w, http.StatusInternalServerError, "encode answer")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}
