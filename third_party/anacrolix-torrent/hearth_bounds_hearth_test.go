package torrent

// Hearth patch: the tables remote peers fill stay bounded (hearth_bounds.go). Not part of
// upstream; run with `go test -race -run Hearth .` in this directory.

import (
	"encoding/binary"
	"expvar"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/mse"
	pp "github.com/anacrolix/torrent/peer_protocol"
	"github.com/anacrolix/torrent/smartban"
)

func hearthClient(t *testing.T, cfg func(*ClientConfig)) *Client {
	t.Helper()
	c := TestingConfig(t)
	if cfg != nil {
		cfg(c)
	}
	cl, err := NewClient(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// addrN is the n-th of many distinct addresses: IPv4 on loopback for
// even n, IPv6 (each in its own /64) for odd n.
func addrN(n int) netip.Addr {
	if n%2 == 0 {
		return netip.AddrFrom4([4]byte{127, byte(n >> 16), byte(n >> 8), byte(n)})
	}
	var b [16]byte
	b[0], b[1] = 0x20, 0x01
	binary.BigEndian.PutUint32(b[4:], uint32(n))
	b[15] = 1
	return netip.AddrFrom16(b)
}

// 100,000 bans, as the library makes them when pieces fail: the list
// stays at its cap, the newest bans hold, and an IPv4 address banned in
// its 16-byte form is refused in its 4-byte form too.
func TestHearthBanListBounded(t *testing.T) {
	cl := hearthClient(t, nil)
	const n = 100_000
	cl.lock()
	for i := range n {
		cl.banPeerIP(addrN(i).AsSlice())
	}
	mapped := net.ParseIP("10.9.8.7") // 16 bytes
	cl.banPeerIP(mapped)
	got := len(cl.badPeerIPs)
	newest := cl.badPeerIPPort(addrN(n-1).AsSlice(), 6881)
	oldest := cl.badPeerIPPort(addrN(0).AsSlice(), 6881)
	short := cl.badPeerIPPort(mapped.To4(), 6881)
	cl.unlock()
	if got != maxBannedPeerIPs {
		t.Errorf("after %d bans the list holds %d, want %d", n+1, got, maxBannedPeerIPs)
	}
	if !newest || !short {
		t.Errorf("banned(newest) = %v, banned(10.9.8.7 as 4 bytes) = %v; want both true", newest, short)
	}
	if oldest {
		t.Errorf("banned(oldest of %d) = true; want it evicted", n)
	}
	if ips := cl.BadPeerIPs(); len(ips) != maxBannedPeerIPs {
		t.Errorf("BadPeerIPs() = %d addresses, want %d", len(ips), maxBannedPeerIPs)
	}
}

// The accept limiter refuses, until its next clear, sources whose
// handshake failed. 100,000 failing sources keep it at its cap, a
// source recorded before it filled stays refused, and every address of
// an IPv6 /64 counts as one source.
func TestHearthAcceptLimiterBounded(t *testing.T) {
	cl := hearthClient(t, func(c *ClientConfig) { c.DisableAcceptRateLimiting = false })
	first := net.ParseIP("2001:db8:1:2::1")
	cl.lock()
	defer cl.unlock()
	cl.onBadAccept(&net.TCPAddr{IP: first, Port: 1})
	for i := range 100_000 {
		cl.onBadAccept(&net.TCPAddr{IP: addrN(i).AsSlice(), Port: 1})
	}
	if n := len(cl.acceptLimiter); n > maxAcceptLimited {
		t.Errorf("accept limiter holds %d sources, want at most %d", n, maxAcceptLimited)
	}
	if !cl.rateLimitAccept(net.ParseIP("2001:db8:1:2:ffff::9")) {
		t.Error("another address in the /64 of a source recorded first is accepted, want refused")
	}
}

// Dials to 3,200 closed ports: the statistics set of addresses a dial
// failed to stays at its cap.
func TestHearthFailedDialsBounded(t *testing.T) {
	// TCP only: a closed TCP port answers at once, a uTP dial waits out its timeout.
	cl := hearthClient(t, func(c *ClientConfig) {
		c.DisableUTP = true
		c.DialRateLimiter = rate.NewLimiter(rate.Inf, 0)
	})
	tor, _ := cl.AddTorrentInfoHash(metainfo.Hash{1, 2, 3})
	const batches, batch = 8, 400
	for b := range batches {
		peers := make([]PeerInfo, batch)
		for i := range peers {
			n := b*batch + i
			peers[i] = PeerInfo{Addr: ipPortAddr{IP: net.IPv4(127, 3, byte(n>>8), byte(n)), Port: 9}, Trusted: true}
		}
		tor.AddPeers(peers)
		deadline := time.Now().Add(30 * time.Second)
		for {
			st := tor.Stats()
			if st.PendingPeers == 0 && st.HalfOpenPeers == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("batch %d: dials still under way after 30 s: %+v", b, st)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if n := cl.Stats().NumPeersUndialableWithoutHolepunch; n == 0 || n > maxHolepunchStatAddrs {
		t.Errorf("after %d failed dials the set holds %d addresses, want 1..%d", batches*batch, n, maxHolepunchStatAddrs)
	}
}

func TestHearthDopplegangersBounded(t *testing.T) {
	cl := hearthClient(t, nil)
	cl.lock()
	defer cl.unlock()
	for i := range 10_000 {
		cl.addDoppleganger(fmt.Sprintf("127.0.0.1:%d", i))
	}
	if n := len(cl.dopplegangerAddrs); n > maxDopplegangerAddrs {
		t.Errorf("doppleganger addresses = %d, want at most %d", n, maxDopplegangerAddrs)
	}
	if !cl.dopplegangerAddr("127.0.0.1:9999") {
		t.Error("the newest doppleganger address is forgotten")
	}
}

// 1,000 peers send the same two blocks of a piece that keeps failing,
// each several times: one record per peer and block, at most
// MaxPeersPerBlock of them, and a peer that sent a block once wrong and
// once right is still reported when the piece passes. Blocks of 100,000
// pieces that never pass stop at MaxRecords.
func TestHearthSmartBanBounded(t *testing.T) {
	var c smartBanCache
	c.Hash = func(b []byte) uint64 { return binary.BigEndian.Uint64(b) }
	c.Init()
	block := func(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
	right := block(1)
	var liar bannableAddr
	for p := range 1000 {
		peer := bannableAddr(addrN(p))
		for key := range RequestIndex(2) {
			for try := range 5 {
				c.RecordBlock(peer, key, block(uint64(2+p*10+try))) // junk, different each time
			}
		}
		liar = peer
	}
	if n := c.Records(); n != 2*smartban.MaxPeersPerBlock {
		t.Errorf("records = %d, want %d", n, 2*smartban.MaxPeersPerBlock)
	}
	c.RecordBlock(liar, 0, right)
	bad := c.CheckBlock(0, right)
	found := false
	for _, p := range bad {
		found = found || p == liar
	}
	if !found || len(bad) != smartban.MaxPeersPerBlock {
		t.Errorf("CheckBlock reported %d peers (liar among them: %v), want %d with the liar", len(bad), found, smartban.MaxPeersPerBlock)
	}
	c.ForgetBlockSeq(func(yield func(RequestIndex) bool) { _ = yield(0) && yield(1) })
	if n := c.Records(); n != 0 {
		t.Errorf("records after the piece passed = %d, want 0", n)
	}
	// 100,000 blocks of pieces that never pass.
	for key := range RequestIndex(100_000) {
		c.RecordBlock(liar, key, right)
	}
	if n := c.Records(); n != smartban.MaxRecords {
		t.Errorf("records after 100,000 blocks = %d, want %d", n, smartban.MaxRecords)
	}
}

// A connection falling ever further behind the PEX event feed is sent
// the live connections anew, and the initial message keeps only live
// connections however often the same address comes and goes twice.
func TestHearthPexFeedBounded(t *testing.T) {
	var s pexState
	ap := func(n int) netip.AddrPort { return netip.AddrPortFrom(addrN(2*n), 6881) }
	s.append(&pexEvent{t: pexAdd, addr: ap(0)})
	start := s.tail
	for i := 1; i <= 10_000; i++ {
		// Two connections from one address, then both gone.
		s.append(&pexEvent{t: pexAdd, addr: ap(i)})
		s.append(&pexEvent{t: pexAdd, addr: ap(i)})
		s.append(&pexEvent{t: pexDrop, addr: ap(i)})
		s.append(&pexEvent{t: pexDrop, addr: ap(i)})
	}
	if n := len(s.msg0.added) + len(s.msg0.dropped); n != 1 {
		t.Errorf("initial message lists %d addresses, want 1 (the live connection)", n)
	}
	_, last := s.Genmsg(start)
	if last != s.tail {
		t.Errorf("a connection %d events behind resumes at seq %d, want the tail (%d)", s.tail.seq-start.seq, last.seq, s.tail.seq)
	}
}

// hearthPeer handshakes with cl for ih from a raw connection, through
// MSE with cryptoProvides when it is not zero.
func hearthPeer(t *testing.T, cl *Client, ih metainfo.Hash, reserved [8]byte, provides mse.CryptoMethod) (io.ReadWriter, net.Conn) {
	t.Helper()
	c, err := net.Dial("tcp", cl.ListenAddrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	var rw io.ReadWriter = c
	if provides != 0 {
		rw, _, err = mse.InitiateHandshake(c, ih[:], nil, provides)
		if err != nil {
			t.Fatalf("MSE handshake: %v", err)
		}
	}
	hs := append([]byte("\x13BitTorrent protocol"), reserved[:]...)
	hs = append(hs, ih[:]...)
	hs = append(hs, fmt.Sprintf("-HT0001-%012d", rand.Uint64()%1e12)...)
	if _, err := rw.Write(hs); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 68)
	if _, err := io.ReadFull(rw, got); err != nil {
		t.Fatalf("read the client's handshake: %v", err)
	}
	return rw, c
}

func wireMsg(id byte, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(1+len(payload)))
	return append(append(b, id), payload...)
}

// varKeys counts the keys of an expvar map.
func varKeys(m *expvar.Map) (n int) {
	m.Do(func(expvar.KeyValue) { n++ })
	return n
}

// Peers choose the keys of four of the library's process-global expvar
// maps (extension names, request lengths, reserved bytes, MSE crypto
// offers) and the extension names a connection keeps. 100 real
// connections send 60,000 names, 5,000 request lengths, 100 reserved
// bytes and 34 MSE offers: every map stays at its cap.
func TestHearthPeerChosenKeysBounded(t *testing.T) {
	cl := hearthClient(t, nil)
	ih := metainfo.Hash{4, 5, 6}
	cl.AddTorrentInfoHash(ih)
	rnd := rand.New(rand.NewPCG(1, 2))
	const conns = 100
	for i := range conns {
		var reserved [8]byte
		binary.BigEndian.PutUint32(reserved[:4], rnd.Uint32()) // unknown bits, different each time
		reserved[5] |= 0x10                                    // extension protocol
		reserved[7] |= 0x04                                    // fast extension (the test config requires it)
		var provides mse.CryptoMethod
		if i%3 == 0 {
			provides = mse.CryptoMethod(rnd.Uint32()) | mse.CryptoMethodRC4
		}
		rw, c := hearthPeer(t, cl, ih, reserved, provides)
		// Three extended handshakes of 200 made-up names each.
		for range 3 {
			m := map[string]int{}
			for j := range 200 {
				m[fmt.Sprintf("x_%d_%d", rnd.Uint64(), j)] = 1 + j%200
			}
			b, err := bencode.Marshal(map[string]any{"m": m})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := rw.Write(wireMsg(byte(pp.Extended), append([]byte{0}, b...))); err != nil {
				t.Fatal(err)
			}
		}
		// 50 requests of lengths never seen before; the client chokes
		// us, so it rejects each (fast extension): a reject for the
		// last one means it read them all.
		const reqs = 50
		var out []byte
		for j := range reqs {
			p := binary.BigEndian.AppendUint32(nil, 0)
			p = binary.BigEndian.AppendUint32(p, 0)
			p = binary.BigEndian.AppendUint32(p, uint32(1+i*reqs+j))
			out = append(out, wireMsg(byte(pp.Request), p)...)
		}
		if _, err := rw.Write(out); err != nil {
			t.Fatal(err)
		}
		rejects := 0
		for rejects < reqs {
			var l [4]byte
			if _, err := io.ReadFull(rw, l[:]); err != nil {
				t.Fatalf("connection %d: read after %d rejects: %v", i, rejects, err)
			}
			msg := make([]byte, binary.BigEndian.Uint32(l[:]))
			if _, err := io.ReadFull(rw, msg); err != nil {
				t.Fatal(err)
			}
			if len(msg) > 0 && msg[0] == byte(pp.Reject) {
				rejects++
			}
		}
		if i == conns-1 {
			// The last connection is still open: it kept at most the cap
			// of the 600 names it sent.
			cl.lock()
			for tor := range cl.torrents {
				for pc := range tor.conns {
					if n := len(pc.PeerExtensionIDs); n > maxPeerExtensionNames {
						t.Errorf("a connection keeps %d extension names, want at most %d", n, maxPeerExtensionNames)
					}
				}
			}
			cl.unlock()
		}
		if i < conns-1 {
			c.Close()
		}
	}
	for name, m := range map[string]*expvar.Map{
		"peers supporting extension": &peersSupportingExtension,
		"requestedChunkLengths":      requestedChunkLengths,
		"peer reserved bytes":        &successfulPeerWireProtocolHandshakePeerReservedBytes,
	} {
		if n := varKeys(m); n > maxVarKeys+1 {
			t.Errorf("expvar %s holds %d keys, want at most %d", name, n, maxVarKeys+1)
		}
	}
	if n := varKeys(expvar.Get("mseCryptoProvides").(*expvar.Map)); n > 4 {
		t.Errorf("expvar mseCryptoProvides holds %d keys, want at most 4 (1, 2, 3, other)", n)
	}
}

// 200 connections that never send a handshake, from 200 sources: at most
// maxIncomingHandshakes wait for one at a time, the rest are closed as
// they are accepted; once the silent ones go, a real peer handshakes.
func TestHearthIncomingHandshakesBounded(t *testing.T) {
	cl := hearthClient(t, func(c *ClientConfig) {
		c.DisableUTP = true
		c.HandshakesTimeout = time.Minute // the silent connections outlive the test
	})
	ih := metainfo.Hash{7, 8, 9}
	cl.AddTorrentInfoHash(ih)
	rejected := func() int64 {
		if v, ok := torrent.Get("rejected accepted connections").(*expvar.Int); ok {
			return v.Value()
		}
		return 0
	}
	rejected0 := rejected()
	const flood = 200
	var silent []net.Conn
	for i := range flood {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 4, byte(i), 1)}}
		c, err := d.Dial("tcp", cl.ListenAddrs()[0].String())
		if err != nil {
			t.Fatal(err)
		}
		silent = append(silent, c)
	}
	deadline := time.Now().Add(20 * time.Second)
	for cl.hearthHandshaking.Load() != maxIncomingHandshakes || rejected()-rejected0 != flood-maxIncomingHandshakes {
		if time.Now().After(deadline) {
			t.Fatalf("after %d silent connections: %d handshakes in progress, %d rejected; want %d and %d",
				flood, cl.hearthHandshaking.Load(), rejected()-rejected0, maxIncomingHandshakes, flood-maxIncomingHandshakes)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, c := range silent {
		c.Close()
	}
	for cl.hearthHandshaking.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d handshakes in progress after the silent connections closed, want 0", cl.hearthHandshaking.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var reserved [8]byte
	reserved[7] |= 0x04 // fast extension (the test config requires it)
	hearthPeer(t, cl, ih, reserved, 0)
}
