// Package tracker is a small HTTP BitTorrent tracker for tests: BEP 3
// announces with BEP 23 compact peer lists (and BEP 7 peers6), in memory,
// no scrape. It answers only the peers that announced to it, so a swarm in
// a test never learns of any host the test did not start.
//
// A peer's address is the announce's remote address unless the announce
// carries an ip parameter that is an IP literal (BEP 3 lets the client name
// its address; aria2's --bt-external-ip uses it). Peers are keyed by
// info_hash and peer_id; event=stopped removes one; a peer that has not
// announced for PeerTTL is dropped. PeerTTL is long because clients keep
// their own minimum interval (libtorrent re-announces at most every 5
// minutes whatever the tracker says).
package tracker

import (
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Defaults for Tracker's fields.
const (
	DefaultInterval = 10 * time.Second
	DefaultPeerTTL  = time.Hour
	DefaultNumWant  = 50
	maxNumWant      = 200
)

// Tracker is an HTTP tracker. The zero value is not ready; use New.
// Its methods are safe for concurrent use.
type Tracker struct {
	// Interval is the announce interval given to clients. Tests keep it
	// short so a leecher that announced before its seeder retries soon.
	Interval time.Duration
	// PeerTTL is how long a peer stays listed after its last announce.
	PeerTTL time.Duration

	mu     sync.Mutex
	swarms map[[20]byte]map[string]*peer // info_hash → peer_id → peer
	now    func() time.Time
}

type peer struct {
	id     string
	addr   netip.AddrPort
	left   int64
	seenAt time.Time
}

// Peer is one peer the tracker knows, as Peers reports it.
type Peer struct {
	ID   string
	Addr netip.AddrPort
	// Seeder is true when the peer's last announce had left=0.
	Seeder bool
}

// New returns an empty tracker with DefaultInterval and DefaultPeerTTL.
func New() *Tracker {
	return &Tracker{Interval: DefaultInterval, PeerTTL: DefaultPeerTTL, swarms: make(map[[20]byte]map[string]*peer), now: time.Now}
}

// Serve answers announces on l (at /announce) until l is closed; it then
// returns nil.
func (t *Tracker) Serve(l net.Listener) error {
	mux := http.NewServeMux()
	mux.Handle("/announce", t)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	err := srv.Serve(l)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Peers returns the peers known for infoHash.
func (t *Tracker) Peers(infoHash [20]byte) []Peer {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ps []Peer
	for _, p := range t.swarms[infoHash] {
		ps = append(ps, Peer{ID: p.id, Addr: p.addr, Seeder: p.left == 0})
	}
	return ps
}

// ServeHTTP answers one announce. Errors go back as a bencoded
// "failure reason" with status 200, as BEP 3 clients expect.
func (t *Tracker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp, err := t.announce(r)
	if err != nil {
		resp = map[string]any{"failure reason": err.Error()}
	}
	body, err := appendBencode(nil, resp)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

func (t *Tracker) announce(r *http.Request) (map[string]any, error) {
	q := r.URL.Query()
	ihs := q.Get("info_hash")
	if len(ihs) != 20 {
		return nil, errors.New("info_hash: want 20 bytes")
	}
	var ih [20]byte
	copy(ih[:], ihs)
	id := q.Get("peer_id")
	if len(id) != 20 {
		return nil, errors.New("peer_id: want 20 bytes")
	}
	port, err := strconv.ParseUint(q.Get("port"), 10, 16)
	if err != nil || port == 0 {
		return nil, errors.New("port: want 1-65535")
	}
	left := int64(-1)
	if s := q.Get("left"); s != "" {
		if left, err = strconv.ParseInt(s, 10, 64); err != nil || left < 0 {
			return nil, errors.New("left: want a number >= 0")
		}
	}
	numWant := DefaultNumWant
	if s := q.Get("numwant"); s != "" {
		if numWant, err = strconv.Atoi(s); err != nil || numWant < 0 {
			return nil, errors.New("numwant: want a number >= 0")
		}
		numWant = min(numWant, maxNumWant)
	}
	ip, err := peerIP(r)
	if err != nil {
		return nil, err
	}
	self := netip.AddrPortFrom(ip, uint16(port))
	compact := q.Get("compact") != "0"
	noPeerID := q.Get("no_peer_id") == "1"

	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	interval := t.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	sw := t.swarms[ih]
	if sw == nil {
		sw = make(map[string]*peer)
		t.swarms[ih] = sw
	}
	ttl := t.PeerTTL
	if ttl <= 0 {
		ttl = DefaultPeerTTL
	}
	for k, p := range sw {
		if now.Sub(p.seenAt) > ttl {
			delete(sw, k)
		}
	}
	if q.Get("event") == "stopped" {
		delete(sw, id)
	} else {
		sw[id] = &peer{id: id, addr: self, left: left, seenAt: now}
	}

	var complete, incomplete int
	var peers4, peers6 []byte
	var list []any
	n := 0
	for _, p := range sw {
		if p.left == 0 {
			complete++
		} else {
			incomplete++
		}
		if p.id == id || p.addr == self || n >= numWant {
			continue
		}
		n++
		a := p.addr.Addr()
		switch {
		case !compact:
			d := map[string]any{"ip": a.String(), "port": int(p.addr.Port())}
			if !noPeerID {
				d["peer id"] = p.id
			}
			list = append(list, d)
		case a.Is4():
			a4 := a.As4()
			peers4 = binary.BigEndian.AppendUint16(append(peers4, a4[:]...), p.addr.Port())
		default:
			a16 := a.As16()
			peers6 = binary.BigEndian.AppendUint16(append(peers6, a16[:]...), p.addr.Port())
		}
	}
	resp := map[string]any{
		"interval":     int64(interval / time.Second),
		"min interval": int64(interval / time.Second),
		"complete":     complete,
		"incomplete":   incomplete,
	}
	if compact {
		resp["peers"] = peers4
		if len(peers6) > 0 {
			resp["peers6"] = peers6
		}
	} else {
		if list == nil {
			list = []any{}
		}
		resp["peers"] = list
	}
	return resp, nil
}

// peerIP is the ip parameter when it is an IP literal, else the remote
// address of the connection.
func peerIP(r *http.Request) (netip.Addr, error) {
	if s := r.URL.Query().Get("ip"); s != "" {
		if a, err := netip.ParseAddr(s); err == nil {
			return a.Unmap(), nil
		}
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, errors.New("remote address: " + err.Error())
	}
	return ap.Addr().Unmap(), nil
}
