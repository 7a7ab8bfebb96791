package engine_test

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
)

// The hostile peers below speak BitTorrent (BEP 3) by hand over plain TCP
// on loopback: a handshake, then length-prefixed messages. They announce
// no extensions, so the engine treats them as the oldest kind of client
// (no fast extension: requests it will not serve are ignored, not
// rejected).

// Message IDs of BEP 3.
const (
	msgChoke      = 0
	msgUnchoke    = 1
	msgInterested = 2
	msgHave       = 4
	msgBitfield   = 5
	msgRequest    = 6
	msgPiece      = 7
	blockSize     = 16 << 10
)

// wireHandshake is the 68-byte BEP 3 handshake with no extension bits.
func wireHandshake(ih [20]byte, peerID string) []byte {
	b := make([]byte, 0, 68)
	b = append(b, 19)
	b = append(b, "BitTorrent protocol"...)
	b = append(b, make([]byte, 8)...)
	b = append(b, ih[:]...)
	id := []byte(peerID)
	id = append(id, make([]byte, 20)...)[:20]
	return append(b, id...)
}

// wireMsg encodes one length-prefixed message.
func wireMsg(id byte, payload ...[]byte) []byte {
	n := 1
	for _, p := range payload {
		n += len(p)
	}
	b := binary.BigEndian.AppendUint32(make([]byte, 0, 4+n), uint32(n))
	b = append(b, id)
	for _, p := range payload {
		b = append(b, p...)
	}
	return b
}

func u32s(v ...uint32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.BigEndian.AppendUint32(b, x)
	}
	return b
}

// readMsg reads one message; a keep-alive comes back as id -1.
func readMsg(r io.Reader, maxLen uint32) (id int, payload []byte, err error) {
	var l [4]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(l[:])
	if n == 0 {
		return -1, nil, nil
	}
	if n > maxLen {
		return 0, nil, fmt.Errorf("message of %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return 0, nil, err
	}
	return int(b[0]), b[1:], nil
}

func infohash(t *testing.T, hexIH string) [20]byte {
	t.Helper()
	var ih [20]byte
	b, err := hex.DecodeString(hexIH)
	if err != nil || len(b) != 20 {
		t.Fatalf("infohash %q: %v", hexIH, err)
	}
	copy(ih[:], b)
	return ih
}

func fullBitfield(pieces int) []byte {
	bf := make([]byte, (pieces+7)/8)
	for i := range pieces {
		bf[i/8] |= 0x80 >> (i % 8)
	}
	return bf
}

// corruptPeer is a listening peer that claims every piece and answers
// every request at once with random bytes of the right length.
type corruptPeer struct {
	ln       net.Listener
	accepted atomic.Int32 // connections the engine made to it
	closed   atomic.Int32 // of those, closed by the engine
	blocks   atomic.Int32 // piece messages sent

	mu    sync.Mutex
	peers []string // peer IDs in the handshakes received, in order
}

func (p *corruptPeer) ids() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.peers...)
}

func startCorruptPeer(t *testing.T, host string, ih [20]byte, pieces int) *corruptPeer {
	t.Helper()
	ln, err := net.Listen("tcp", host+":0")
	if err != nil {
		t.Fatalf("listen on %s: %v", host, err)
	}
	p := &corruptPeer{ln: ln}
	var wg sync.WaitGroup
	conns := make(chan net.Conn, 64)
	wg.Go(func() {
		defer close(conns)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.accepted.Add(1)
			conns <- c
			wg.Go(func() {
				p.serve(c, ih, pieces)
				p.closed.Add(1)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		for c := range conns {
			c.Close()
		}
		wg.Wait()
	})
	return p
}

func (p *corruptPeer) addr() string { return p.ln.Addr().String() }

// serve runs one connection until the engine closes it (or 2 minutes).
func (p *corruptPeer) serve(c net.Conn, ih [20]byte, pieces int) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	hs := make([]byte, 68)
	if _, err := io.ReadFull(c, hs); err != nil {
		return
	}
	p.mu.Lock()
	p.peers = append(p.peers, string(hs[48:]))
	p.mu.Unlock()
	out := wireHandshake(ih, "-XX0001-corruptpeer1")
	out = append(out, wireMsg(msgBitfield, fullBitfield(pieces))...)
	out = append(out, wireMsg(msgUnchoke)...)
	if _, err := c.Write(out); err != nil {
		return
	}
	for {
		id, pl, err := readMsg(c, 1<<20)
		if err != nil {
			return
		}
		if id != msgRequest || len(pl) != 12 {
			continue
		}
		n := binary.BigEndian.Uint32(pl[8:])
		if n > blockSize {
			continue
		}
		junk := make([]byte, n)
		rand.Read(junk)
		if _, err := c.Write(wireMsg(msgPiece, pl[:8], junk)); err != nil {
			return
		}
		p.blocks.Add(1)
	}
}

// hostileNode is a test engine in the mode the hostile peers need:
// plaintext connections (the raw peers speak no MSE), everything else as
// the desktop profile has it.
func hostileNode(t *testing.T) *enginetest.Node {
	return enginetest.StartNode(t, enginetest.NodeOptions{Config: func(c *config.Config) { c.Torrent.Encryption = "tolerate" }})
}

// hostileSeeder seeds tt from its folder, plaintext allowed.
func hostileSeeder(t *testing.T, tt *enginetest.Torrent) *enginetest.Node {
	t.Helper()
	n := hostileNode(t)
	got, _, err := n.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Dir: tt.Dir})
	if err != nil {
		t.Fatalf("seeder add: %v", err)
	}
	enginetest.WaitFor(t, n.Engine, ref(got.ID), timeout, "seeder to verify its data", func(x engine.Torrent) bool {
		return x.State == engine.StateSeeding
	})
	return n
}

// wirePeer is a raw outgoing connection to an engine that counts what
// comes back.
type wirePeer struct {
	c        net.Conn
	unchoked chan struct{}
	bytes    atomic.Int64 // piece payload received
	done     chan struct{}
	err      error // why the read loop ended, after done
}

// dialWire connects to addr, handshakes for ih and starts a read loop.
// The handshake the engine answers with is checked.
func dialWire(t *testing.T, addr string, ih [20]byte, id string) *wirePeer {
	t.Helper()
	w, err := tryDialWire(t, addr, ih, id)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// tryDialWire is dialWire returning the error (the engine may refuse).
func tryDialWire(t *testing.T, addr string, ih [20]byte, id string) (*wirePeer, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(4 * time.Minute))
	if _, err := c.Write(wireHandshake(ih, id)); err != nil {
		return nil, fmt.Errorf("send handshake: %w", err)
	}
	hs := make([]byte, 68)
	if _, err := io.ReadFull(c, hs); err != nil {
		return nil, fmt.Errorf("read the engine's handshake: %w", err)
	}
	if string(hs[1:20]) != "BitTorrent protocol" || [20]byte(hs[28:48]) != ih {
		return nil, fmt.Errorf("engine handshake %q: want protocol and infohash %x", hs, ih)
	}
	w := &wirePeer{c: c, unchoked: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		once := sync.Once{}
		for {
			id, pl, err := readMsg(c, 1<<20)
			if err != nil {
				w.err = err
				return
			}
			switch id {
			case msgUnchoke:
				once.Do(func() { close(w.unchoked) })
			case msgPiece:
				w.bytes.Add(int64(max(len(pl)-8, 0)))
			}
		}
	}()
	return w, nil
}

// closedWithin reports whether the engine closed the connection within d.
func (w *wirePeer) closedWithin(d time.Duration) bool {
	select {
	case <-w.done:
		return true
	case <-time.After(d):
		return false
	}
}

// heapInUse is the process's live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// heapPeak samples HeapInuse every 50 ms until stop is called, which
// returns the highest value seen.
func heapPeak() (stop func() uint64) {
	var peak atomic.Uint64
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-quit:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() uint64 {
		close(quit)
		<-done
		return peak.Load()
	}
}

const mib = 1 << 20

// TestReliabilityHostilePeers runs real engines against peers that break
// the protocol on purpose. Every subtest ends with an honest transfer or
// handshake that must still work.
func TestReliabilityHostilePeers(t *testing.T) {
	var (
		mu     sync.Mutex
		report []string
	)
	note := func(format string, args ...any) {
		mu.Lock()
		report = append(report, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	t.Cleanup(func() {
		if len(report) > 0 {
			enginetest.Report(t, "20-hostile-peers", "## Hostile peers\n\n"+strings.Join(report, "\n")+"\n")
		}
	})
	size := int64(2 * mib)
	if enginetest.Full() {
		size = 16 * mib
	}
	// 5 pieces more than a multiple of 8: the bitfield has spare bits.
	size += 5 * 32 << 10
	files := []enginetest.File{{Path: "data.bin", Size: size}}

	// A peer answers requests with random bytes, alongside one honest
	// seeder. The pieces it touched fail their hash; anacrolix bans its IP
	// (alone on a piece: at once; with others: when the piece passes and
	// its blocks differ). The peer sits on 127.0.0.2 so the ban, which is
	// by IP, cannot hit the honest seeder on 127.0.0.1.
	t.Run("corrupt pieces", func(t *testing.T) {
		tt := enginetest.MakeTorrent(t, t.TempDir(), "corrupt", 32<<10, files)
		ih := infohash(t, tt.InfoHash)
		pieces := int((size + tt.PieceSize - 1) / tt.PieceSize)
		seeder := hostileSeeder(t, tt)
		bad := startCorruptPeer(t, "127.0.0.2", ih, pieces)
		leecher := hostileNode(t)

		// The corrupt peer alone first, so it surely serves data.
		got, _, err := leecher.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Peers: []string{bad.addr()}})
		if err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 30*time.Second, "the corrupt peer to be dropped", func() bool {
			return bad.blocks.Load() > 0 && bad.closed.Load() == bad.accepted.Load()
		})
		// Now the honest seeder and the corrupt peer again: the ban must
		// keep the engine from dialling it.
		leecherID := bad.ids()[0]
		blocks := bad.blocks.Load()
		if err := leecher.Engine.AddPeers(got.ID, []string{bad.addr(), seeder.PeerAddr()}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		enginetest.WaitFor(t, leecher.Engine, ref(got.ID), timeout, "download to complete", enginetest.Complete)
		took := time.Since(start)
		enginetest.SameFiles(t, tt, leecher.Engine.Settings().DownloadDir)
		// The seeder may dial the corrupt peer (it learns of it by PEX);
		// the leecher must not.
		from := 0
		for _, id := range bad.ids() {
			if id == leecherID {
				from++
			}
		}
		if from != 1 {
			t.Errorf("connections from the leecher to the corrupt peer = %d, want 1 (banned IPs are not dialled again)", from)
		}
		if n := bad.blocks.Load(); n != blocks {
			t.Errorf("blocks the corrupt peer served after the ban = %d, want 0", n-blocks)
		}
		peers, err := leecher.Engine.Peers(got.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range peers {
			if strings.HasPrefix(p.Addr, "127.0.0.2:") {
				t.Errorf("Peers() still lists the corrupt peer %s", p.Addr)
			}
		}
		x, _ := leecher.Engine.Get(ref(got.ID))
		note("- **Corrupt pieces**: a peer answering every request with random bytes served %d blocks (%d KiB) before the engine dropped it; "+
			"the leecher never dialled it again (%d connections to it in all, from either engine); the %d MiB torrent then completed from the honest seeder in %.1f s and verified byte for byte (%d bytes).",
			bad.blocks.Load(), bad.blocks.Load()*blockSize>>10, bad.accepted.Load(), size/mib, took.Seconds(), x.Done)

		// Both at once, on a fresh leecher: pieces get blocks from both
		// peers, a failed piece has several touchers and nobody is banned
		// for it; the smart-ban cache bans the corrupt peer when a piece it
		// touched passes later with other blocks.
		bad2 := startCorruptPeer(t, "127.0.0.3", ih, pieces)
		leecher2 := hostileNode(t)
		start = time.Now()
		got2, _, err := leecher2.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Peers: []string{bad2.addr(), seeder.PeerAddr()}})
		if err != nil {
			t.Fatal(err)
		}
		enginetest.WaitFor(t, leecher2.Engine, ref(got2.ID), timeout, "download alongside the corrupt peer", enginetest.Complete)
		took = time.Since(start)
		enginetest.SameFiles(t, tt, leecher2.Engine.Settings().DownloadDir)
		served := bad2.blocks.Load()
		time.Sleep(time.Second)
		if n := bad2.blocks.Load(); n != served {
			t.Errorf("the corrupt peer is still asked for blocks after the download completed: %d → %d", served, n)
		}
		note("- **Corrupt pieces alongside an honest seeder** (both from the start, fresh leecher): the corrupt peer served %d blocks; the download completed in %.1f s with correct data.",
			served, took.Seconds())
	})

	// A peer floods the seeding engine with requests: thousands of valid
	// ones, each several times, then invalid ones on a second connection.
	// The engine keeps at most 1024 queued requests per peer (anacrolix's
	// localClientReqq) and drops a peer whose request is out of range.
	t.Run("request flood", func(t *testing.T) {
		tt := enginetest.MakeTorrent(t, t.TempDir(), "flood", 32<<10, files)
		ih := infohash(t, tt.InfoHash)
		pieces := int((size + tt.PieceSize - 1) / tt.PieceSize)
		seeder := hostileSeeder(t, tt)
		before := heapInUse()
		stop := heapPeak()

		nreq := 20_000
		if enginetest.Full() {
			nreq = 500_000
		}
		w := dialWire(t, seeder.PeerAddr(), ih, "-XX0001-flooder00001")
		if _, err := w.c.Write(wireMsg(msgInterested)); err != nil {
			t.Fatal(err)
		}
		select {
		case <-w.unchoked:
		case <-time.After(20 * time.Second):
			t.Fatalf("the seeder never unchoked the flooder")
		}
		// A second flooder asks for every block and never reads: the
		// seeder's writes to it block once the socket buffers fill.
		stuck, err := net.Dial("tcp", seeder.PeerAddr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stuck.Close() })
		var reqs []byte
		for i := range pieces * int(tt.PieceSize/blockSize) {
			reqs = append(reqs, wireMsg(msgRequest, u32s(uint32(i%pieces), uint32(i/pieces*blockSize), blockSize))...)
		}
		stuck.SetDeadline(time.Now().Add(2 * time.Minute))
		stuck.Write(append(wireHandshake(ih, "-XX0001-neverreads01"), wireMsg(msgInterested)...))
		go func() {
			time.Sleep(500 * time.Millisecond) // unchoked by then, most likely; requests before are ignored
			stuck.Write(reqs)
		}()
		// An honest leecher downloads while the flood goes on.
		leecher := hostileNode(t)
		got, _, err := leecher.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Peers: []string{seeder.PeerAddr()}})
		if err != nil {
			t.Fatal(err)
		}
		var sent int
		buf := make([]byte, 0, 64<<10)
		blocksPerPiece := int(tt.PieceSize / blockSize)
		var werr error
		for sent < nreq {
			i := sent / 4 // each request four times in a row
			req := wireMsg(msgRequest, u32s(uint32(i%pieces), uint32((i/pieces)%blocksPerPiece*blockSize), blockSize))
			buf = append(buf, req...)
			sent++
			if len(buf) >= 60<<10 {
				if _, werr = w.c.Write(buf); werr != nil {
					break
				}
				buf = buf[:0]
			}
		}
		if werr == nil && len(buf) > 0 {
			_, werr = w.c.Write(buf)
		}
		if werr != nil {
			t.Logf("flood write ended after %d requests: %v", sent, werr)
		}
		start := time.Now()
		enginetest.WaitFor(t, leecher.Engine, ref(got.ID), timeout, "honest download during the flood", enginetest.Complete)
		took := time.Since(start)
		enginetest.SameFiles(t, tt, leecher.Engine.Settings().DownloadDir)
		// The flooder still gets served (it asked for valid blocks).
		waitUntil(t, 30*time.Second, "the flooder to receive data", func() bool { return w.bytes.Load() > 0 })

		// Invalid requests, each on a fresh connection: out-of-range
		// index, a block past the piece end, an over-long length. Each
		// must cost the peer its connection, and nothing more.
		bad := []struct {
			name          string
			index, off, n uint32
		}{
			{"index out of range", uint32(pieces), 0, blockSize},
			{"index 2^32-1", ^uint32(0), 0, blockSize},
			{"block past the piece end", 0, uint32(tt.PieceSize), blockSize},
			{"offset overflow", 0, ^uint32(0) - 10, blockSize},
			{"length 1 MiB", 0, 0, mib},
			{"length 2^32-1", 0, 0, ^uint32(0)},
		}
		for _, b := range bad {
			w := dialWire(t, seeder.PeerAddr(), ih, "-XX0001-badrequest01")
			w.c.Write(wireMsg(msgInterested))
			select {
			case <-w.unchoked:
			case <-time.After(20 * time.Second):
				t.Fatalf("%s: never unchoked", b.name)
			}
			// Many times over: the first one must already end it.
			var msgs []byte
			for range 1000 {
				msgs = append(msgs, wireMsg(msgRequest, u32s(b.index, b.off, b.n))...)
			}
			w.c.Write(msgs)
			if !w.closedWithin(10 * time.Second) {
				t.Errorf("request %s: connection still open after 10 s, want dropped", b.name)
			}
		}
		peak := stop()
		after := heapInUse()
		w.c.Close()
		<-w.done
		// Budget: the seeder keeps at most 1024 queued requests per peer
		// (~100 bytes each) and 1 MiB of request data in flight; the
		// leecher, in the same process, may hold up to 64 MiB of
		// unverified pieces (desktop profile) but hashes 32 KiB pieces as
		// they come on loopback. Measured peaks: 27 MiB bounded, 47 MiB in
		// full form. An unbounded queue holding a 16 KiB buffer per request
		// would need 312 MiB for 20,000 requests.
		growth := int64(peak) - int64(before)
		if growth > 96*mib {
			t.Errorf("heap grew by %d MiB during the flood (%d → peak %d MiB), want ≤ 96 MiB", growth/mib, before/mib, peak/mib)
		}
		if int64(after)-int64(before) > 16*mib {
			t.Errorf("heap after the flood %d MiB, %d MiB above the start: want ≤ 16 MiB retained", after/mib, (int64(after)-int64(before))/mib)
		}
		note("- **Request flood**: %d request messages (each block asked 4 times in a row) on one connection, every block on another that never reads, then %d kinds of invalid request (1,000 each) on fresh connections, each dropped; "+
			"an honest leecher completed %d MiB meanwhile in %.1f s; the flooder received %d KiB; heap in use %.1f MiB before, peak %.1f MiB, %.1f MiB after.",
			sent, len(bad), size/mib, took.Seconds(), w.bytes.Load()>>10, float64(before)/mib, float64(peak)/mib, float64(after)/mib)
	})

	// Peers that connect and then say nothing, or a byte at a time:
	// before the handshake the engine gives them HandshakesTimeout (4 s);
	// after it, its read deadline is 150 s of silence. The test holds more
	// silent connections than the torrent's slots and checks an honest
	// leecher still gets in: anacrolix replaced a full torrent's worst
	// connection only after it had a minute to prove itself, so 50 silent
	// connections locked everyone out for a minute at a time (the leecher
	// here timed out at 60 s); the patched library gives a connection of
	// no use to either side 10 s.
	t.Run("slowloris", func(t *testing.T) {
		tt := enginetest.MakeTorrent(t, t.TempDir(), "slow", 32<<10, files)
		ih := infohash(t, tt.InfoHash)
		seeder := hostileSeeder(t, tt)
		slots := seeder.Config.Torrent.ConnsPerTorrent

		// Silent before the handshake, and a handshake one byte every
		// 500 ms (68 bytes would take 34 s).
		var pre []net.Conn
		for i := range 20 {
			c, err := net.Dial("tcp", seeder.PeerAddr())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			pre = append(pre, c)
			if i%2 == 1 {
				hs := wireHandshake(ih, fmt.Sprintf("-XX0001-drip%08d", i))
				go func() {
					for _, b := range hs {
						if _, err := c.Write([]byte{b}); err != nil {
							return
						}
						time.Sleep(500 * time.Millisecond)
					}
				}()
			}
		}
		// Handshaked, then a 16 KiB piece message one byte a second: the
		// 150 s read deadline is set again before every read, so it never
		// fires on this one.
		drip := dialWire(t, seeder.PeerAddr(), ih, "-XX0001-dripmsg00001")
		dripDone := make(chan struct{})
		go func() {
			defer close(dripDone)
			for _, b := range wireMsg(msgPiece, u32s(0, 0), make([]byte, blockSize)) {
				if _, err := drip.c.Write([]byte{b}); err != nil {
					return
				}
				select {
				case <-drip.done:
					return
				case <-time.After(time.Second):
				}
			}
		}()
		t.Cleanup(func() {
			drip.c.Close()
			<-dripDone
		})
		// Handshaked, then silent, and more of them than the slots.
		var idle []*wirePeer
		refused := 0
		for i := range slots + 10 {
			w, err := tryDialWire(t, seeder.PeerAddr(), ih, fmt.Sprintf("-XX0001-idle%08d", i))
			if err != nil {
				refused++
				continue
			}
			idle = append(idle, w)
		}
		t.Logf("silent handshaked connections: %d accepted, %d refused", len(idle), refused)
		leecher := hostileNode(t)
		start := time.Now()
		got, _, err := leecher.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Peers: []string{seeder.PeerAddr()}})
		if err != nil {
			t.Fatal(err)
		}
		// A refused peer is forgotten; a tracker or the DHT would hand it
		// out again, here every 2 s.
		stopAnnounce := make(chan struct{})
		announced := make(chan struct{})
		eng, seederAddr := leecher.Engine, seeder.PeerAddr()
		go func() {
			defer close(announced)
			for {
				select {
				case <-stopAnnounce:
					return
				case <-time.After(2 * time.Second):
					eng.AddPeers(got.ID, []string{seederAddr})
				}
			}
		}()
		// Runs before the engines close, also when the wait fails.
		t.Cleanup(func() {
			close(stopAnnounce)
			<-announced
		})
		enginetest.WaitFor(t, leecher.Engine, ref(got.ID), timeout, "honest download past the slowloris peers", enginetest.Complete)
		took := time.Since(start)
		enginetest.SameFiles(t, tt, leecher.Engine.Settings().DownloadDir)

		// Pre-handshake stragglers are cut at the handshake timeout.
		deadline := time.Now().Add(15 * time.Second)
		preClosed := 0
		for _, c := range pre {
			c.SetReadDeadline(deadline)
			_, err := io.ReadFull(c, make([]byte, 1))
			var ne net.Error
			if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
				preClosed++
			}
		}
		if preClosed != len(pre) {
			t.Errorf("connections without a full handshake closed within 15 s: %d of %d, want all", preClosed, len(pre))
		}
		// Handshaked-but-silent ones: the engine keeps at most its slots.
		time.Sleep(time.Second)
		open := 0
		for _, w := range idle {
			select {
			case <-w.done:
			default:
				open++
			}
		}
		if open > slots {
			t.Errorf("silent handshaked connections still open: %d, want ≤ %d (ConnsPerTorrent)", open, slots)
		}
		dripState := "still open"
		select {
		case <-drip.done:
			dripState = "closed"
		default:
		}
		line := fmt.Sprintf("- **Slowloris**: %d connections silent or dripping before the handshake (all %d closed within the 4 s handshake timeout + slack), "+
			"one handshaked and dripping a piece message a byte a second (%s when the leecher was done), %d handshaked and silent (%d accepted, %d refused: the torrent was full; %d still open); "+
			"an honest leecher, handed the seeder again every 2 s as a tracker would, completed %d MiB past them in %.1f s (before the library patch: nothing in 60 s).",
			len(pre), preClosed, dripState, len(idle)+refused, len(idle), refused, open, size/mib, took.Seconds())
		if enginetest.Full() {
			// The long form waits for the 150 s read deadline.
			startIdle := time.Now()
			for _, w := range idle {
				if !w.closedWithin(200*time.Second - time.Since(startIdle)) {
					t.Errorf("a silent handshaked connection is still open after %s, want closed by the 150 s read deadline", time.Since(startIdle).Round(time.Second))
					break
				}
			}
			line += fmt.Sprintf(" Every silent connection was closed %.0f s later.", time.Since(startIdle).Seconds())
		}
		note("%s", line)
	})

	// Broken handshakes and messages, each on its own connection. The
	// engine must drop the connection (or, where BEP 3 lets it ignore the
	// message, keep serving it), and a clean handshake must work after
	// every one.
	t.Run("malformed", func(t *testing.T) {
		tt := enginetest.MakeTorrent(t, t.TempDir(), "malformed", 32<<10, files)
		ih := infohash(t, tt.InfoHash)
		pieces := int((size + tt.PieceSize - 1) / tt.PieceSize)
		seeder := hostileSeeder(t, tt)
		good := wireHandshake(ih, "-XX0001-malformed001")
		wrongProto := append([]byte(nil), good...)
		copy(wrongProto[1:20], "BitTorrent protocoX")
		unknownIH := append([]byte(nil), good...)
		unknownIH[28] ^= 0xff
		longBF := fullBitfield(pieces + 64)
		shortBF := fullBitfield(pieces)[:len(fullBitfield(pieces))-1]
		spareBits := fullBitfield(pieces + 8)[:len(fullBitfield(pieces))] // bits set past the last piece (if pieces%8 != 0)

		tests := []struct {
			name string
			raw  []byte // sent instead of a handshake
			msgs []byte // sent after a good handshake
			drop bool   // the connection must be dropped; else it must still serve
		}{
			{name: "wrong protocol string", raw: wrongProto, drop: true},
			{name: "protocol length 255", raw: append([]byte{255}, good[1:]...), drop: true},
			{name: "short handshake then close", raw: good[:30], drop: true},
			{name: "unknown infohash", raw: unknownIH, drop: true},
			{name: "HTTP request", raw: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), drop: true},
			{name: "length prefix 2^32-1", msgs: u32s(^uint32(0)), drop: true},
			{name: "length prefix 1 GiB with data", msgs: append(u32s(1<<30, 0x07000000), make([]byte, 64<<10)...), drop: true},
			{name: "bitfield too long", msgs: wireMsg(msgBitfield, longBF), drop: true},
			// anacrolix reads the missing bits as pieces not had.
			{name: "bitfield too short", msgs: wireMsg(msgBitfield, shortBF), drop: false},
			{name: "bitfield spare bits set", msgs: wireMsg(msgBitfield, spareBits), drop: pieces%8 != 0},
			{name: "have out of range", msgs: wireMsg(msgHave, u32s(uint32(pieces)+1000)), drop: true},
			{name: "have 2^32-1", msgs: wireMsg(msgHave, u32s(^uint32(0))), drop: true},
			{name: "request out of range", msgs: append(wireMsg(msgInterested), wireMsg(msgRequest, u32s(^uint32(0), 0, blockSize))...), drop: true},
			{name: "unsolicited piece out of range", msgs: wireMsg(msgPiece, u32s(^uint32(0), 0), make([]byte, blockSize)), drop: true},
			{name: "piece message too short", msgs: wireMsg(msgPiece, []byte{1, 2}), drop: true},
			{name: "request message too short", msgs: wireMsg(msgRequest, []byte{1}), drop: true},
			// BEP 3 would ignore them; anacrolix drops the peer, which is safe.
			{name: "unknown message ids", msgs: append(append(wireMsg(99, []byte("hello")), wireMsg(255)...), wireMsg(21, make([]byte, 100))...), drop: true},
			{name: "extended message without BEP 10", msgs: wireMsg(20, []byte{0, 'd', 'e'}), drop: false},
			{name: "choke flood", msgs: []byte(strings.Repeat(string(wireMsg(msgChoke)), 10000)), drop: false},
			{name: "keep-alive flood", msgs: make([]byte, 4*100_000), drop: false},
		}
		var dropped, kept atomic.Int32
		t.Run("cases", func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					if tc.raw != nil {
						t.Parallel() // each waits out the 4 s handshake timeout
					}
					var c net.Conn
					var w *wirePeer
					if tc.raw != nil {
						var err error
						c, err = net.Dial("tcp", seeder.PeerAddr())
						if err != nil {
							t.Fatal(err)
						}
						defer c.Close()
						c.Write(tc.raw)
						c.SetReadDeadline(time.Now().Add(15 * time.Second))
						_, err = io.Copy(io.Discard, c) // until the engine closes it
						var ne net.Error
						if errors.As(err, &ne) && ne.Timeout() {
							t.Errorf("connection still open after 15 s, want dropped")
						} else {
							dropped.Add(1)
						}
					} else {
						w = dialWire(t, seeder.PeerAddr(), ih, "-XX0001-malformed002")
						w.c.Write(tc.msgs)
						closed := w.closedWithin(3 * time.Second)
						switch {
						case tc.drop && !closed:
							t.Errorf("connection still open after 3 s, want dropped")
						case tc.drop:
							dropped.Add(1)
						case closed:
							t.Errorf("connection dropped (%v), want kept: BEP 3 lets the engine ignore this", w.err)
						default:
							// Still a working connection: ask for a block.
							w.c.Write(append(wireMsg(msgInterested), wireMsg(msgRequest, u32s(0, 0, blockSize))...))
							waitUntil(t, 20*time.Second, "a block on the same connection", func() bool { return w.bytes.Load() >= blockSize })
							kept.Add(1)
						}
					}
					// The engine is still there for everyone else.
					probe := dialWire(t, seeder.PeerAddr(), ih, "-XX0001-probe0000001")
					probe.c.Close()
				})
			}
		})
		leecher := hostileNode(t)
		got, _, err := leecher.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Peers: []string{seeder.PeerAddr()}})
		if err != nil {
			t.Fatal(err)
		}
		enginetest.WaitFor(t, leecher.Engine, ref(got.ID), timeout, "honest download after the malformed peers", enginetest.Complete)
		enginetest.SameFiles(t, tt, leecher.Engine.Settings().DownloadDir)
		note("- **Malformed input**: %d kinds of broken handshake or message; %d connections dropped, %d kept and still serving where BEP 3 allows ignoring the message; no crash, and an honest leecher completed afterwards.",
			len(tests), dropped.Load(), kept.Load())
	})
}

// waitUntil polls cond every 50 ms and fails the test after d.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
