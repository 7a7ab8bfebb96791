package tracker

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
)

func TestBencode(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{"", "0:"},
		{"spam", "4:spam"},
		{[]byte{0, 0xff}, "2:\x00\xff"},
		{0, "i0e"},
		{-3, "i-3e"},
		{int64(1) << 40, "i1099511627776e"},
		{[]any{}, "le"},
		{[]any{"a", 1}, "l1:ai1ee"},
		{map[string]any{}, "de"},
		{map[string]any{"z": 1, "a": "x", "m": []any{2}}, "d1:a1:x1:mli2ee1:zi1ee"},
		{map[string]any{"peer id": "p", "ip": "1.2.3.4"}, "d2:ip7:1.2.3.47:peer id1:pe"},
	}
	for _, tt := range tests {
		got, err := appendBencode(nil, tt.in)
		if err != nil || string(got) != tt.want {
			t.Errorf("appendBencode(%#v) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := appendBencode(nil, 1.5); err == nil {
		t.Errorf("appendBencode(1.5) = nil error, want one")
	}
	if _, err := appendBencode(nil, map[string]any{"k": []any{struct{}{}}}); err == nil {
		t.Errorf("appendBencode(nested struct) = nil error, want one")
	}
}

type response struct {
	Failure    string `bencode:"failure reason"`
	Interval   int64  `bencode:"interval"`
	Complete   int    `bencode:"complete"`
	Incomplete int    `bencode:"incomplete"`
	Peers      []byte `bencode:"peers"`
	Peers6     []byte `bencode:"peers6"`
}

type dictPeer struct {
	ID   string `bencode:"peer id"`
	IP   string `bencode:"ip"`
	Port int    `bencode:"port"`
}

// serve starts a tracker on loopback and returns its announce URL.
func serve(t *testing.T) (*Tracker, string) {
	t.Helper()
	tr := New()
	tr.Interval = 7 * time.Second
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- tr.Serve(l) }()
	t.Cleanup(func() {
		l.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve = %v, want nil after Close", err)
		}
	})
	return tr, "http://" + l.Addr().String() + "/announce"
}

func announce(t *testing.T, base string, params map[string]string) []byte {
	t.Helper()
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	resp, err := http.Get(base + "?" + q.Encode())
	if err != nil {
		t.Fatalf("GET announce: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET announce = %d, %v", resp.StatusCode, err)
	}
	return body
}

func compactPeers(t *testing.T, b []byte, size int) []netip.AddrPort {
	t.Helper()
	if len(b)%size != 0 {
		t.Fatalf("compact peers of %d bytes, want a multiple of %d", len(b), size)
	}
	var out []netip.AddrPort
	for ; len(b) > 0; b = b[size:] {
		a, _ := netip.AddrFromSlice(b[:size-2])
		out = append(out, netip.AddrPortFrom(a, uint16(b[size-2])<<8|uint16(b[size-1])))
	}
	return out
}

func TestAnnounce(t *testing.T) {
	tr, base := serve(t)
	ih := string(bytes.Repeat([]byte{0xab}, 20))
	idA, idB, idC := "-AA0001-aaaaaaaaaaaa", "-BB0001-bbbbbbbbbbbb", "-CC0001-cccccccccccc"

	// A seeder announces: it gets no peers (only itself is known).
	var r response
	if err := bencode.Unmarshal(announce(t, base, map[string]string{
		"info_hash": ih, "peer_id": idA, "port": "6881", "left": "0", "event": "started", "compact": "1",
	}), &r); err != nil {
		t.Fatal(err)
	}
	if r.Failure != "" || r.Interval != 7 || len(r.Peers) != 0 || r.Complete != 1 {
		t.Errorf("first announce = %+v, want interval 7, no peers, complete 1", r)
	}

	// A leecher gets the seeder at its loopback address, not itself.
	r = response{}
	if err := bencode.Unmarshal(announce(t, base, map[string]string{
		"info_hash": ih, "peer_id": idB, "port": "7000", "left": "100", "compact": "1", "numwant": "10",
	}), &r); err != nil {
		t.Fatal(err)
	}
	want := netip.MustParseAddrPort("127.0.0.1:6881")
	if got := compactPeers(t, r.Peers, 6); len(got) != 1 || got[0] != want {
		t.Errorf("leecher's peers = %v, want [%v]", got, want)
	}
	if r.Complete != 1 || r.Incomplete != 1 {
		t.Errorf("complete, incomplete = %d, %d, want 1, 1", r.Complete, r.Incomplete)
	}

	// A client naming its address with ip= is listed there; IPv6 goes to
	// peers6.
	announce(t, base, map[string]string{"info_hash": ih, "peer_id": idC, "port": "7001", "left": "5", "ip": "fd00::7"})
	r = response{}
	if err := bencode.Unmarshal(announce(t, base, map[string]string{
		"info_hash": ih, "peer_id": idA, "port": "6881", "left": "0",
	}), &r); err != nil {
		t.Fatal(err)
	}
	if got := compactPeers(t, r.Peers, 6); len(got) != 1 || got[0] != netip.MustParseAddrPort("127.0.0.1:7000") {
		t.Errorf("seeder's peers = %v, want [127.0.0.1:7000]", got)
	}
	if got := compactPeers(t, r.Peers6, 18); len(got) != 1 || got[0] != netip.MustParseAddrPort("[fd00::7]:7001") {
		t.Errorf("seeder's peers6 = %v, want [[fd00::7]:7001]", got)
	}

	// numwant=0 returns nobody.
	r = response{}
	if err := bencode.Unmarshal(announce(t, base, map[string]string{
		"info_hash": ih, "peer_id": idA, "port": "6881", "left": "0", "numwant": "0",
	}), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Peers) != 0 || len(r.Peers6) != 0 {
		t.Errorf("numwant=0 gave peers %x %x, want none", r.Peers, r.Peers6)
	}

	// Non-compact: a list of dictionaries with peer ids.
	var nc struct {
		Peers []dictPeer `bencode:"peers"`
	}
	if err := bencode.Unmarshal(announce(t, base, map[string]string{
		"info_hash": ih, "peer_id": idC, "port": "7001", "left": "5", "ip": "fd00::7", "compact": "0",
	}), &nc); err != nil {
		t.Fatal(err)
	}
	if len(nc.Peers) != 2 {
		t.Fatalf("non-compact peers = %+v, want A and B", nc.Peers)
	}
	for _, p := range nc.Peers {
		if p.ID != idA && p.ID != idB || p.IP != "127.0.0.1" {
			t.Errorf("non-compact peer = %+v, want A or B at 127.0.0.1", p)
		}
	}

	// event=stopped removes the peer.
	announce(t, base, map[string]string{"info_hash": ih, "peer_id": idC, "port": "7001", "left": "5", "event": "stopped"})
	var ihb [20]byte
	copy(ihb[:], ih)
	if got := tr.Peers(ihb); len(got) != 2 {
		t.Errorf("Peers after C stopped = %+v, want A and B", got)
	}
	for _, p := range tr.Peers(ihb) {
		if (p.ID == idA) != p.Seeder {
			t.Errorf("peer %+v: Seeder = %v, want %v", p, p.Seeder, p.ID == idA)
		}
	}
}

func TestAnnounceErrors(t *testing.T) {
	_, base := serve(t)
	ih := string(bytes.Repeat([]byte{1}, 20))
	id := "-XX0001-xxxxxxxxxxxx"
	tests := []struct {
		name   string
		params map[string]string
	}{
		{"no info_hash", map[string]string{"peer_id": id, "port": "1"}},
		{"short info_hash", map[string]string{"info_hash": "abc", "peer_id": id, "port": "1"}},
		{"short peer_id", map[string]string{"info_hash": ih, "peer_id": "x", "port": "1"}},
		{"port 0", map[string]string{"info_hash": ih, "peer_id": id, "port": "0"}},
		{"port too big", map[string]string{"info_hash": ih, "peer_id": id, "port": strconv.Itoa(1 << 16)}},
		{"negative left", map[string]string{"info_hash": ih, "peer_id": id, "port": "1", "left": "-1"}},
		{"bad numwant", map[string]string{"info_hash": ih, "peer_id": id, "port": "1", "numwant": "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r response
			if err := bencode.Unmarshal(announce(t, base, tt.params), &r); err != nil {
				t.Fatal(err)
			}
			if r.Failure == "" {
				t.Errorf("announce(%v) = %+v, want a failure reason", tt.params, r)
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	tr := New()
	now := time.Unix(1000, 0)
	tr.now = func() time.Time { return now }
	tr.PeerTTL = 3 * time.Second
	ih := string(bytes.Repeat([]byte{2}, 20))
	req := func(id string) {
		q := url.Values{"info_hash": {ih}, "peer_id": {id}, "port": {"1"}}
		r, _ := http.NewRequest("GET", "/announce?"+q.Encode(), nil)
		r.RemoteAddr = "127.0.0.1:5555"
		tr.ServeHTTP(discard{}, r)
	}
	var ihb [20]byte
	copy(ihb[:], ih)
	ids := func() []string {
		var out []string
		for _, p := range tr.Peers(ihb) {
			out = append(out, p.ID[:2])
		}
		slices.Sort(out)
		return out
	}
	req("-AA0001-aaaaaaaaaaaa")
	now = now.Add(2 * time.Second)
	req("-BB0001-bbbbbbbbbbbb")
	if got := ids(); !slices.Equal(got, []string{"-A", "-B"}) {
		t.Errorf("Peers within PeerTTL = %v, want A and B", got)
	}
	now = now.Add(2 * time.Second)
	req("-CC0001-cccccccccccc")
	if got := ids(); !slices.Equal(got, []string{"-B", "-C"}) {
		t.Errorf("Peers after A went quiet for longer than PeerTTL = %v, want B and C", got)
	}
}

type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}
