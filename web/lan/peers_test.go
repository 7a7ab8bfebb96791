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
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-media/hearth/device/mdns"
	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
)

// memSwarm is an engine's List and AddPeers over a fixed list: what the
// torrents' LAN path reads and does, recorded. (TestTorrentOverLAN runs
// real engines.)
type memSwarm struct {
	mu    sync.Mutex
	list  []engine.Torrent
	added map[int64][]string
	lists int
}

func newSwarm(ts ...engine.Torrent) *memSwarm {
	return &memSwarm{list: ts, added: map[int64][]string{}}
}

func (m *memSwarm) List() []engine.Torrent {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lists++
	return slices.Clone(m.list)
}

func (m *memSwarm) AddPeers(id int64, addrs []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.added[id] = append(m.added[id], addrs...)
	return nil
}

func (m *memSwarm) add(t engine.Torrent) {
	m.mu.Lock()
	m.list = append(m.list, t)
	m.mu.Unlock()
}

func (m *memSwarm) peersAdded() map[int64][]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[int64][]string{}
	for k, v := range m.added {
		out[k] = slices.Clone(v)
	}
	return out
}

// tor is a torrent of the given infohash and state; private when asked.
func tor(id int64, ih string, state engine.State, private bool) engine.Torrent {
	return engine.Torrent{ID: id, InfoHash: ih, State: state, Private: private, HasMetadata: state != engine.StateMetadata, AddedAt: time.Now().Add(-time.Hour)}
}

func randomIH() string {
	var b [20]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// peerDevice is a Source with a swarm, serving on loopback.
type peerDevice struct {
	id    string
	src   *Source
	swarm *memSwarm
	srv   *httptest.Server
	port  int
	// bodies are the questions it was sent, as received.
	mu     sync.Mutex
	bodies [][]byte
}

func newPeerDevice(t testing.TB, id string, peerPort int, sw *memSwarm) *peerDevice {
	t.Helper()
	o := Options{ID: id, PeerPort: func() int { return peerPort }, FetchTimeout: 2 * time.Second}
	if sw != nil {
		o.Swarm = sw
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	s.onLink = func(a netip.Addr) bool { return a.IsLoopback() }
	d := &peerDevice{id: id, src: s, swarm: sw}
	h := s.Handler()
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == PeersPath {
			b, _ := io.ReadAll(r.Body)
			d.mu.Lock()
			d.bodies = append(d.bodies, b)
			d.mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(d.srv.Close)
	d.port = int(netip.MustParseAddrPort(d.srv.Listener.Addr().String()).Port())
	return d
}

func (d *peerDevice) entry() mdns.Entry {
	return mdns.Entry{Instance: "Device " + d.id, Service: mdns.ServiceHearth, Port: d.port,
		Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, TXT: map[string]string{mdns.KeyID: d.id}, ID: d.id}
}

func (d *peerDevice) questions() [][]byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.bodies)
}

// post sends a raw question to d.
func (d *peerDevice) post(t *testing.T, method, path, ctype, body string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, d.srv.URL+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func tokensJSON(toks ...[32]byte) string {
	q := peersQuery{Tokens: []string{}}
	for _, t := range toks {
		q.Tokens = append(q.Tokens, hex.EncodeToString(t[:]))
	}
	b, _ := json.Marshal(q)
	return string(b)
}

func ihBytes(t testing.TB, s string) [20]byte {
	t.Helper()
	ih, ok := parseInfohash(s)
	if !ok {
		t.Fatalf("bad infohash %q", s)
	}
	return ih
}

func TestPeersToken(t *testing.T) {
	ih := ihBytes(t, randomIH())
	a, b := peersToken(ih, "dev-a"), peersToken(ih, "dev-b")
	if a == b {
		t.Error("peersToken is the same for two devices: a token would work with any device")
	}
	if a != peersToken(ih, "dev-a") {
		t.Error("peersToken is not deterministic")
	}
	if a == queryToken(ih, "dev-a") {
		t.Error("peersToken(x) = queryToken(x): a torrent question would double as a channel question")
	}
	if a == peersToken(ihBytes(t, randomIH()), "dev-a") {
		t.Error("two infohashes give one token")
	}
}

// TestPeersEndpoint: the answer is exactly the public, running torrents
// among those asked with this device's id; everything malformed is a 4xx.
func TestPeersEndpoint(t *testing.T) {
	seed, dl, priv, stopped, queued, meta, notAsked := randomIH(), randomIH(), randomIH(), randomIH(), randomIH(), randomIH(), randomIH()
	sw := newSwarm(
		tor(1, seed, engine.StateSeeding, false),
		tor(2, dl, engine.StateDownloading, false),
		tor(3, priv, engine.StateSeeding, true),
		tor(4, stopped, engine.StateStopped, false),
		tor(5, queued, engine.StateQueued, false),
		tor(6, meta, engine.StateMetadata, false),
		tor(7, notAsked, engine.StateSeeding, false),
	)
	d := newPeerDevice(t, "dev1", 51413, sw)
	tok := func(ih, id string) [32]byte { return peersToken(ihBytes(t, ih), id) }
	var junk [32]byte
	rand.Read(junk[:])
	asked := []([32]byte){
		tok(seed, "dev1"), tok(dl, "dev1"), tok(priv, "dev1"), tok(stopped, "dev1"), tok(queued, "dev1"), tok(meta, "dev1"),
		tok(seed, "dev2"), // a token made for another device
		queryToken(ihBytes(t, seed), "dev1"),
		junk, tok(seed, "dev1"), // a duplicate
	}
	resp, body := d.post(t, "POST", PeersPath, "application/json", tokensJSON(asked...))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("POST %s = %s %s, want 200 JSON", PeersPath, resp.Status, body)
	}
	set := map[[32]byte]bool{}
	for _, a := range asked {
		set[a] = true
	}
	held, port, err := decodePeersAnswer(bytes.NewReader(body), set)
	if err != nil {
		t.Fatalf("decodePeersAnswer(%s) = %v", body, err)
	}
	want := [][32]byte{tok(seed, "dev1"), tok(dl, "dev1")}
	if !slices.Equal(held, want) || port != 51413 {
		t.Errorf("answer = %d held, port %d; want exactly the seeding and the downloading public torrents, port 51413: %s", len(held), port, body)
	}
	if n := d.src.tp.queries.Load(); n != 1 {
		t.Errorf("queries counted = %d, want 1", n)
	}
	if a, m := d.src.tp.asked.Load(), d.src.tp.matched.Load(); a != 9 || m != 2 {
		t.Errorf("asked, matched = %d, %d; want 9 (duplicates once), 2", a, m)
	}

	bad := []struct {
		name, method, path, ctype, body string
		code                            int
	}{
		{"GET", "GET", PeersPath, "", "", 405},
		{"PUT", "PUT", PeersPath, "application/json", tokensJSON(), 405},
		{"query string", "POST", PeersPath + "?x=1", "application/json", tokensJSON(), 400},
		{"no content type", "POST", PeersPath, "", tokensJSON(), 415},
		{"form", "POST", PeersPath, "application/x-www-form-urlencoded", tokensJSON(), 415},
		{"text", "POST", PeersPath, "text/plain", tokensJSON(), 415},
		{"not JSON", "POST", PeersPath, "application/json", "tokens", 400},
		{"unknown field", "POST", PeersPath, "application/json", `{"tokens":[],"ih":"x"}`, 400},
		{"trailing data", "POST", PeersPath, "application/json", tokensJSON() + "{}", 400},
		{"upper-case hex", "POST", PeersPath, "application/json", `{"tokens":["` + strings.ToUpper(hex.EncodeToString(junk[:])) + `"]}`, 400},
		{"short token", "POST", PeersPath, "application/json", `{"tokens":["` + hex.EncodeToString(junk[:31]) + `"]}`, 400},
		{"an infohash", "POST", PeersPath, "application/json", `{"tokens":["` + seed + `"]}`, 400},
		{"257 tokens", "POST", PeersPath, "application/json", tokensJSON(make([][32]byte, 257)...), 400},
		{"over 20 KiB", "POST", PeersPath, "application/json", `{"tokens":[]` + strings.Repeat(" ", 21<<10) + `}`, 400},
	}
	for _, tt := range bad {
		resp, body := d.post(t, tt.method, tt.path, tt.ctype, tt.body)
		if resp.StatusCode != tt.code {
			t.Errorf("%s: %s = %s %s, want %d", tt.name, tt.method, resp.Status, body, tt.code)
		}
	}
	// 256 tokens (the cap) are fine, charset parameter too.
	if resp, body := d.post(t, "POST", PeersPath, "application/json; charset=utf-8", tokensJSON(make([][32]byte, 256)...)); resp.StatusCode != 200 {
		t.Errorf("256 tokens = %s %s, want 200", resp.Status, body)
	}

	// The limits: past the burst, 429 with Retry-After.
	limited := false
	for range perAddrBurst + 5 {
		resp, _ := d.post(t, "POST", PeersPath, "application/json", tokensJSON())
		if resp.StatusCode == http.StatusTooManyRequests {
			limited = resp.Header.Get("Retry-After") != ""
			break
		}
	}
	if !limited {
		t.Errorf("%d questions in a row never got 429 with Retry-After", perAddrBurst+5)
	}

	// Without a swarm the path is off.
	off := newPeerDevice(t, "dev2", 1, nil)
	if resp, body := off.post(t, "POST", PeersPath, "application/json", tokensJSON(tok(seed, "dev2"))); resp.StatusCode != 404 {
		t.Errorf("POST %s without a swarm = %s %s, want 404", PeersPath, resp.Status, body)
	}
}

// TestAskNeighbours: a device asks every neighbour about its incomplete
// public torrents, in one padded question each; the neighbour that has
// one becomes its peer, the one that has none learns nothing it can use.
func TestAskNeighbours(t *testing.T) {
	shared, priv, seeding, bOnly := randomIH(), randomIH(), randomIH(), randomIH()
	a := newPeerDevice(t, "a", 7001, newSwarm(
		tor(1, shared, engine.StateSeeding, false),
		tor(2, priv, engine.StateSeeding, true),
		tor(3, seeding, engine.StateDownloading, false),
	))
	c := newPeerDevice(t, "c", 7003, newSwarm())
	bsw := newSwarm(
		tor(10, shared, engine.StateDownloading, false),
		tor(11, priv, engine.StateDownloading, true),
		tor(12, seeding, engine.StateSeeding, false), // complete here: not asked
		tor(13, bOnly, engine.StateMetadata, false),
	)
	b := newPeerDevice(t, "b", 7002, bsw)
	ctx := context.Background()
	b.src.scanTorrents(time.Now())
	for _, n := range []*peerDevice{a, c} {
		b.src.event(ctx, mdns.Event{Kind: mdns.Added, Entry: n.entry()})
	}
	b.src.dispatchPeers(ctx)
	b.src.wg.Wait()

	want := map[int64][]string{10: {fmt.Sprintf("127.0.0.1:%d", 7001)}}
	if got := bsw.peersAdded(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("peers added = %v, want %v (the shared public torrent only, at A's address and peer port)", got, want)
	}
	for _, n := range []*peerDevice{a, c} {
		qs := n.questions()
		if len(qs) != 1 {
			t.Fatalf("%s got %d questions, want 1", n.id, len(qs))
		}
		var q peersQuery
		if err := json.Unmarshal(qs[0], &q); err != nil {
			t.Fatal(err)
		}
		if len(q.Tokens) != padTo || !slices.IsSorted(q.Tokens) {
			t.Errorf("%s: question of %d tokens (sorted %v), want %d sorted (2 padded to %d)", n.id, len(q.Tokens), slices.IsSorted(q.Tokens), padTo, padTo)
		}
		for _, ih := range []string{shared, priv, seeding, bOnly} {
			if bytes.Contains(qs[0], []byte(ih)) {
				t.Errorf("%s: the question carries an infohash: %s", n.id, qs[0])
			}
			other := peersToken(ihBytes(t, ih), "b")
			if bytes.Contains(qs[0], []byte(hex.EncodeToString(other[:]))) {
				t.Errorf("%s: the question carries a token for another device", n.id)
			}
		}
		// Which tokens are real: those for the shared torrent and the
		// magnet, made for this neighbour; not the private one.
		real := 0
		for _, s := range q.Tokens {
			for _, ih := range []string{shared, bOnly, priv} {
				tk := peersToken(ihBytes(t, ih), n.id)
				if s == hex.EncodeToString(tk[:]) {
					real++
					if ih == priv {
						t.Errorf("%s was asked about the private torrent", n.id)
					}
				}
			}
		}
		if real != 2 {
			t.Errorf("%s: %d real tokens, want 2 (the incomplete public torrents)", n.id, real)
		}
	}
	if m := c.src.tp.matched.Load(); m != 0 {
		t.Errorf("C matched %d tokens, want 0", m)
	}
	if m := a.src.tp.matched.Load(); m != 1 {
		t.Errorf("A matched %d tokens, want 1", m)
	}

	// The same neighbour again soon (a record that flaps): not asked.
	b.src.event(ctx, mdns.Event{Kind: mdns.Removed, Entry: a.entry()})
	b.src.event(ctx, mdns.Event{Kind: mdns.Added, Entry: a.entry()})
	b.src.dispatchPeers(ctx)
	b.src.wg.Wait()
	if n := len(a.questions()); n != 1 {
		t.Errorf("A asked %d times after its record came back at once, want still 1", n)
	}
	// A torrent added: every neighbour is asked at once.
	bsw.add(tor(14, randomIH(), engine.StateDownloading, false))
	b.src.scanTorrents(time.Now())
	b.src.dispatchPeers(ctx)
	b.src.wg.Wait()
	if na, nc := len(a.questions()), len(c.questions()); na != 2 || nc != 2 {
		t.Errorf("after a torrent was added: A asked %d times, C %d; want 2 each", na, nc)
	}
	// Nothing new: a scan asks nobody.
	b.src.scanTorrents(time.Now())
	b.src.dispatchPeers(ctx)
	b.src.wg.Wait()
	if na := len(a.questions()); na != 2 {
		t.Errorf("a scan with nothing new asked A again (%d questions)", na)
	}
}

// TestAskCaps: at most 256 torrents in a question, the most recently
// added; padding to a multiple of 16 up to the cap.
func TestAskCaps(t *testing.T) {
	sw := newSwarm()
	base := time.Now().Add(-time.Hour)
	for i := range 300 {
		tt := tor(int64(i+1), randomIH(), engine.StateDownloading, false)
		tt.AddedAt = base.Add(time.Duration(i) * time.Second)
		sw.add(tt)
	}
	n := newPeerDevice(t, "n", 7001, newSwarm())
	d := newPeerDevice(t, "d", 7002, sw)
	d.src.scanTorrents(time.Now())
	if got := len(d.src.tp.asks); got != maxPeerTokens {
		t.Fatalf("asks = %d, want %d", got, maxPeerTokens)
	}
	for _, a := range d.src.tp.asks {
		if a.id <= 300-maxPeerTokens {
			t.Errorf("torrent %d (among the oldest 44) asked about instead of a newer one", a.id)
			break
		}
	}
	d.src.event(context.Background(), mdns.Event{Kind: mdns.Added, Entry: n.entry()})
	d.src.dispatchPeers(context.Background())
	d.src.wg.Wait()
	qs := n.questions()
	var q peersQuery
	if len(qs) != 1 || json.Unmarshal(qs[0], &q) != nil || len(q.Tokens) != maxPeerTokens {
		t.Errorf("question = %d bodies, %d tokens; want one of %d", len(qs), len(q.Tokens), maxPeerTokens)
	}

	for _, tt := range []struct{ real, want int }{{1, 16}, {16, 16}, {17, 32}, {250, 256}, {256, 256}} {
		byToken := map[[32]byte]askTorrent{}
		for range tt.real {
			var k [32]byte
			rand.Read(k[:])
			byToken[k] = askTorrent{}
		}
		rec := newPeerDevice(t, "r", 1, newSwarm())
		d.src.askPeers(context.Background(), neighbour{id: "r", addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, port: rec.port}, byToken)
		var q peersQuery
		if qs := rec.questions(); len(qs) != 1 || json.Unmarshal(qs[0], &q) != nil || len(q.Tokens) != tt.want {
			t.Errorf("%d real tokens: question of %d tokens, want %d", tt.real, len(q.Tokens), tt.want)
		}
	}
}

// TestHostilePeersAnswers: a neighbour's answer is taken only when it is
// exactly what was asked for; otherwise no peer is added.
func TestHostilePeersAnswers(t *testing.T) {
	ih := randomIH()
	tests := []struct {
		name string
		// answer builds the body from the tokens asked.
		answer func(asked []string) string
		status int
	}{
		{"every token held (claims everything)", func(a []string) string { return js(peersAnswer{Held: a, PeerPort: 6881}) }, 200},
		{"a token not asked", func(a []string) string {
			return js(peersAnswer{Held: []string{strings.Repeat("ab", 32)}, PeerPort: 6881})
		}, 200},
		{"a token twice", func(a []string) string { return js(peersAnswer{Held: []string{a[0], a[0]}, PeerPort: 6881}) }, 200},
		{"upper-case token", func(a []string) string { return js(peersAnswer{Held: []string{strings.ToUpper(a[0])}, PeerPort: 6881}) }, 200},
		{"port out of range", func(a []string) string { return js(peersAnswer{Held: []string{}, PeerPort: 70000}) }, 200},
		{"negative port", func(a []string) string { return js(peersAnswer{Held: []string{}, PeerPort: -1}) }, 200},
		{"unknown field", func(a []string) string { return `{"held":[],"peerPort":1,"peers":["8.8.8.8:1"]}` }, 200},
		{"two objects", func(a []string) string { return `{"held":[],"peerPort":1}{}` }, 200},
		{"not JSON", func(a []string) string { return "<html>" }, 200},
		{"huge", func(a []string) string { return `{"held":[],"peerPort":1` + strings.Repeat(" ", 30<<10) + "}" }, 200},
		{"more held than asked", func(a []string) string { return js(peersAnswer{Held: append(a, a...), PeerPort: 1}) }, 200},
		{"server error", func(a []string) string { return "{}" }, 500},
		{"redirect", func(a []string) string { return "" }, 307},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var q peersQuery
				json.NewDecoder(r.Body).Decode(&q)
				if tt.status == 307 {
					w.Header().Set("Location", "http://127.0.0.1:1/")
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.answer(q.Tokens))
			}))
			defer srv.Close()
			port := int(netip.MustParseAddrPort(srv.Listener.Addr().String()).Port())
			sw := newSwarm(tor(1, ih, engine.StateDownloading, false))
			d := newPeerDevice(t, "d", 7002, sw)
			d.src.scanTorrents(time.Now())
			e := mdns.Entry{Instance: "Hostile", Service: mdns.ServiceHearth, Port: port,
				Addrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, TXT: map[string]string{mdns.KeyID: "h"}, ID: "h"}
			d.src.event(context.Background(), mdns.Event{Kind: mdns.Added, Entry: e})
			d.src.dispatchPeers(context.Background())
			d.src.wg.Wait()
			if got := sw.peersAdded(); len(got) != 0 {
				t.Errorf("peers added from a hostile answer: %v", got)
			}
		})
	}

	// Straight to the decoder: the empty answer and a null list are fine.
	for _, body := range []string{`{"held":[],"peerPort":0}`, `{"held":null,"peerPort":6881}`, `{}`} {
		if _, _, err := decodePeersAnswer(strings.NewReader(body), map[[32]byte]bool{}); err != nil {
			t.Errorf("decodePeersAnswer(%s) = %v, want nil", body, err)
		}
	}
	if _, _, err := decodePeersAnswer(strings.NewReader(`{"held":["x"]}`), map[[32]byte]bool{}); !errors.Is(err, errBadAnswer) {
		t.Errorf("decodePeersAnswer(more held than asked) = %v, want errBadAnswer", err)
	}
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestNeighbourOffLink: a neighbour whose record names only addresses
// outside the watched networks is never contacted.
func TestNeighbourOffLink(t *testing.T) {
	n := newPeerDevice(t, "n", 7001, newSwarm())
	sw := newSwarm(tor(1, randomIH(), engine.StateDownloading, false))
	d := newPeerDevice(t, "d", 7002, sw)
	d.src.onLink = d.src.addrOnLink // the real check: no interfaces watched, nothing is on the link
	d.src.scanTorrents(time.Now())
	d.src.event(context.Background(), mdns.Event{Kind: mdns.Added, Entry: n.entry()})
	d.src.dispatchPeers(context.Background())
	d.src.wg.Wait()
	if qs := n.questions(); len(qs) != 0 {
		t.Errorf("a neighbour at an address off the link was asked %d times", len(qs))
	}
}

// TestTorrentOverLAN: real engines on loopback, no DHT, no tracker: B
// adds a torrent A seeds, with no peers, and gets it because its Source
// asked A (a neighbour that appeared) and added it as a peer.
func TestTorrentOverLAN(t *testing.T) {
	if testing.Short() {
		t.Skip("two engines")
	}
	na, nb := enginetest.StartNode(t, enginetest.NodeOptions{}), enginetest.StartNode(t, enginetest.NodeOptions{})
	start := func(n *enginetest.Node, id string) *peerDevice {
		s, err := New(Options{ID: id, Swarm: n.Engine, Logger: enginetest.Logger(t).With("device", id),
			PeerPort: func() int { return n.Engine.Stats().PeerPort }})
		if err != nil {
			t.Fatal(err)
		}
		s.onLink = func(a netip.Addr) bool { return a.IsLoopback() }
		srv := httptest.NewServer(s.Handler())
		t.Cleanup(srv.Close)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); s.Serve(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		return &peerDevice{id: id, src: s, srv: srv, port: int(netip.MustParseAddrPort(srv.Listener.Addr().String()).Port())}
	}
	a, b := start(na, "a"), start(nb, "b")

	tt := enginetest.MakeTorrent(t, na.Engine.Settings().DownloadDir, "Holiday", 64<<10, []enginetest.File{{Path: "clip.mp4", Size: 3 << 20}})
	if _, _, err := na.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo}); err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, na.Engine, tt.InfoHash, 30*time.Second, "seeding", func(x engine.Torrent) bool { return x.State == engine.StateSeeding })

	added := time.Now()
	if _, _, err := nb.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo}); err != nil {
		t.Fatal(err)
	}
	// B sees A appear (the mDNS browser's event).
	b.src.event(context.Background(), mdns.Event{Kind: mdns.Added, Entry: a.entry()})
	got := enginetest.WaitFor(t, nb.Engine, tt.InfoHash, 60*time.Second, "complete", enginetest.Complete)
	t.Logf("complete %s after the add", time.Since(added).Round(time.Millisecond))
	enginetest.SameFiles(t, tt, got.Dir)
	if m := a.src.tp.matched.Load(); m < 1 {
		t.Errorf("A recognised %d tokens, want at least 1", m)
	}
}
