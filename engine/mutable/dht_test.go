package mutable_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/torrent/bencode"

	"github.com/hearth-media/hearth/engine/mutable"
	"github.com/hearth-media/hearth/engine/mutable/mutabletest"
)

// Timeouts catch hangs; they do not measure speed (see BenchmarkGet).
const testTimeout = 20 * time.Second

// testLogger logs to the test log at debug level.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func key(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func pubOf(priv ed25519.PrivateKey) (k [32]byte) {
	copy(k[:], priv.Public().(ed25519.PublicKey))
	return k
}

func sign(t testing.TB, priv ed25519.PrivateKey, salt string, seq int64, ih byte) mutable.Item {
	t.Helper()
	it, err := mutable.Sign(priv, []byte(salt), seq, mutable.InfohashValue([20]byte{ih}))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return it
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func put(t testing.TB, s *dht.Server, it mutable.Item) int {
	t.Helper()
	n, err := mutable.Put(ctxT(t), s, it)
	if err != nil || n == 0 {
		t.Fatalf("Put(seq %d) = %d, %v; want > 0, nil", it.Seq, n, err)
	}
	return n
}

func sameItem(a, b mutable.Item) bool {
	return a.Key == b.Key && bytes.Equal(a.Salt, b.Salt) && a.Seq == b.Seq && bytes.Equal(a.Value, b.Value) && a.Sig == b.Sig
}

// holders counts the nodes whose store holds exactly it.
func holders(nodes []mutabletest.Node, it mutable.Item) int {
	n := 0
	for _, nd := range nodes {
		got, err := nd.Store.Get(it.Target())
		if err == nil && got.Seq == it.Seq && got.Sig == it.Sig {
			n++
		}
	}
	return n
}

func TestPutGetAcrossNodes(t *testing.T) {
	nodes := mutabletest.Start(t, 8, mutabletest.Options{})
	owner := key(1)
	for _, salt := range []string{"", "photos"} {
		t.Run("salt="+salt, func(t *testing.T) {
			it := sign(t, owner, salt, 1, 0xaa)
			stored := put(t, nodes[0].Server, it)
			if h := holders(nodes, it); h < stored {
				t.Errorf("%d stores hold the item, Put said %d", h, stored)
			}
			if stored < 7 {
				t.Errorf("Put stored on %d nodes, want ≥ 7 of the 8", stored)
			}
			got, st, err := mutable.Lookup(ctxT(t), nodes[7].Server, it.Key, []byte(salt), 0, testLogger(t))
			if err != nil {
				t.Fatalf("Lookup = %v", err)
			}
			if !sameItem(got, it) {
				t.Fatalf("Lookup = seq %d %q, want seq %d %q", got.Seq, got.Value, it.Seq, it.Value)
			}
			if st.Valid == 0 || st.Holders == 0 || st.Invalid != 0 {
				t.Errorf("Lookup stats = %+v, want valid and holders > 0, invalid 0", st)
			}
			ih, err := mutable.ParseInfohashValue(got.Value)
			if err != nil || ih != [20]byte{0xaa} {
				t.Errorf("ParseInfohashValue = %x, %v", ih, err)
			}
		})
	}
	// The other salt is another target: nothing there.
	_, err := mutable.Get(ctxT(t), nodes[3].Server, pubOf(owner), []byte("videos"), 0)
	if !errors.Is(err, mutable.ErrNotFound) {
		t.Errorf("Get(other salt) = %v, want ErrNotFound", err)
	}
}

// The putter goes away: the item lives on the other nodes.
func TestGetAfterPutterLeft(t *testing.T) {
	nodes := mutabletest.Start(t, 6, mutabletest.Options{ResendDelay: 300 * time.Millisecond})
	it := sign(t, key(2), "", 4, 1)
	put(t, nodes[0].Server, it)
	nodes[0].Server.Close()
	got, err := mutable.Get(ctxT(t), nodes[5].Server, it.Key, nil, 0)
	if err != nil || !sameItem(got, it) {
		t.Fatalf("Get = seq %d, %v; want seq 4", got.Seq, err)
	}
}

func TestHigherSeqWins(t *testing.T) {
	nodes := mutabletest.Start(t, 8, mutabletest.Options{})
	owner := key(3)
	v1, v2 := sign(t, owner, "c", 1, 1), sign(t, owner, "c", 2, 2)
	put(t, nodes[0].Server, v1)
	put(t, nodes[1].Server, v2)
	s := nodes[6].Server
	got, err := mutable.Get(ctxT(t), s, v1.Key, []byte("c"), 0)
	if err != nil || got.Seq != 2 {
		t.Fatalf("Get = seq %d, %v; want seq 2", got.Seq, err)
	}
	// Asking for newer than what is there: not found, nodes say they
	// hold something older.
	_, st, err := mutable.Lookup(ctxT(t), s, v1.Key, []byte("c"), 3, nil)
	if !errors.Is(err, mutable.ErrNotFound) || st.Older == 0 {
		t.Errorf("Lookup(minSeq 3) = %v, stats %+v; want ErrNotFound and older > 0", err, st)
	}
	// A subscriber re-putting the old version is told it is outdated
	// and puts nothing.
	if n, err := mutable.Put(ctxT(t), nodes[4].Server, v1); !errors.Is(err, mutable.ErrOutdated) || n != 0 {
		t.Errorf("Put(old seq 1) = %d, %v; want 0, ErrOutdated", n, err)
	}
	// Re-putting the latest one unchanged works (BEP 44 refresh).
	put(t, nodes[5].Server, got)
}

// An attacker replays an old, validly signed item into the nodes.
func TestReplayedLowerSeq(t *testing.T) {
	// Fewer nodes than a traversal keeps as closest, so every node,
	// the fresh one below too, is asked.
	nodes := mutabletest.Start(t, 5, mutabletest.Options{})
	owner := key(4)
	old, cur := sign(t, owner, "", 3, 3), sign(t, owner, "", 5, 5)
	put(t, nodes[0].Server, cur)
	// Straight to every node with a token, as a hostile node would:
	// nodes holding seq 5 answer 302.
	rejected := 0
	for _, nd := range nodes[1:] {
		if err := rawPut(t, nodes[0].Server, nd.Server, old); err != nil {
			var kerr *krpc.Error
			if errors.As(err, &kerr) && kerr.Code == krpc.ErrorCodeSequenceNumberLessThanCurrent {
				rejected++
			}
		}
	}
	if rejected == 0 {
		t.Errorf("no node answered 302 to a replayed lower seq")
	}
	if h := holders(nodes, old); h != 0 {
		t.Errorf("%d nodes replaced seq 5 by the replayed seq 3", h)
	}
	got, err := mutable.Get(ctxT(t), nodes[4].Server, pubOf(owner), nil, 0)
	if err != nil || !sameItem(got, cur) {
		t.Fatalf("Get = seq %d, %v; want seq 5", got.Seq, err)
	}
	// Asked for seq ≥ 5, a node holding only the replay is ignored.
	fresh := mutabletest.Start(t, 1, mutabletest.Options{})[0]
	if err := rawPut(t, nodes[0].Server, fresh.Server, old); err != nil {
		t.Fatalf("put seq 3 to a fresh node: %v", err)
	}
	mutabletest.AddNode(nodes[4].Server, fresh.Server.Addr().(*net.UDPAddr), fresh.Server.ID())
	got, st, err := mutable.Lookup(ctxT(t), nodes[4].Server, pubOf(owner), nil, 5, nil)
	if err != nil || got.Seq != 5 || st.Older == 0 {
		t.Fatalf("Lookup(minSeq 5) = seq %d, %v, stats %+v; want seq 5 and older > 0", got.Seq, err, st)
	}
}

// rawPut sends it to node to as a single put from from, with a token
// from a get, skipping every check Put does.
func rawPut(t testing.TB, from, to *dht.Server, it mutable.Item) error {
	t.Helper()
	addr := dht.NewAddr(to.Addr())
	res := from.Get(ctxT(t), addr, it.Target(), nil, dht.QueryRateLimiting{})
	if err := res.ToError(); err != nil {
		t.Fatalf("get token: %v", err)
	}
	if res.Reply.R == nil || res.Reply.R.Token == nil {
		t.Fatalf("get token: reply without a token")
	}
	seq := it.Seq
	res = from.Query(ctxT(t), addr, "put", dht.QueryInput{MsgArgs: krpc.MsgArgs{
		Token: *res.Reply.R.Token,
		K:     it.Key,
		Salt:  it.Salt,
		Seq:   &seq,
		Sig:   it.Sig,
		V:     bencode.Bytes(it.Value),
	}})
	return res.ToError()
}

// A put flood from the network never grows a node's store past its cap,
// and the items put last stay resolvable.
func TestStoreBoundedUnderPutFlood(t *testing.T) {
	const capItems = 10
	nodes := mutabletest.Start(t, 4, mutabletest.Options{MaxItems: capItems})
	var last mutable.Item
	for i := range 60 {
		last = sign(t, key(byte(100+i)), "", 1, byte(i))
		put(t, nodes[0].Server, last)
		for j, nd := range nodes {
			if st := nd.Store.Stats(); st.Items > capItems {
				t.Fatalf("after %d puts node %d holds %d items, cap %d", i+1, j, st.Items, capItems)
			}
		}
	}
	for j, nd := range nodes[1:] {
		if st := nd.Store.Stats(); st.Items != capItems || st.Evicted < 40 {
			t.Errorf("node %d: stats %+v, want %d items and ≥ 40 evicted", j+1, st, capItems)
		}
	}
	got, err := mutable.Get(ctxT(t), nodes[3].Server, last.Key, nil, 0)
	if err != nil || !sameItem(got, last) {
		t.Errorf("Get(last put) = seq %d, %v", got.Seq, err)
	}
}

// Queries without arguments crash anacrolix's put and announce_peer
// handlers (v2.23.0: a nil dereference in the server's read loop, which
// takes the whole process down). A node configured by ConfigureServer
// drops them and keeps answering. Without the guard this test binary
// dies.
func TestQueryWithoutArgumentsIsDropped(t *testing.T) {
	nodes := mutabletest.Start(t, 2, mutabletest.Options{})
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{"put", "announce_peer", "get", "find_node", "get_peers", "ping"} {
		pkt := fmt.Appendf(nil, "d1:q%d:%s1:t2:aa1:y1:qe", len(q), q)
		if _, err := conn.WriteTo(pkt, nodes[0].Server.Addr()); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond) // let the node read them
	res := nodes[1].Server.Ping(nodes[0].Server.Addr().(*net.UDPAddr))
	if err := res.ToError(); err != nil {
		t.Fatalf("ping after the bad queries: %v", err)
	}
}

func TestPutCAS(t *testing.T) {
	nodes := mutabletest.Start(t, 5, mutabletest.Options{})
	owner := key(5)
	v2, v3 := sign(t, owner, "", 2, 2), sign(t, owner, "", 3, 3)
	// Every node holds seq 2 (a Put may leave out the putter itself, and
	// CAS is only sent to nodes that said they hold something).
	for i, nd := range nodes {
		if err := rawPut(t, nodes[(i+1)%len(nodes)].Server, nd.Server, v2); err != nil {
			t.Fatalf("put seq 2 to node %d: %v", i, err)
		}
	}
	if n, err := mutable.PutCAS(ctxT(t), nodes[1].Server, v3, 1); !errors.Is(err, mutable.ErrCASMismatch) || n != 0 {
		t.Errorf("PutCAS(seq 3, cas 1) over seq 2 = %d, %v; want 0, ErrCASMismatch", n, err)
	}
	if h := holders(nodes, v3); h != 0 {
		t.Errorf("%d nodes took seq 3 despite the CAS mismatch", h)
	}
	if n, err := mutable.PutCAS(ctxT(t), nodes[1].Server, v3, 2); err != nil || n == 0 {
		t.Errorf("PutCAS(seq 3, cas 2) over seq 2 = %d, %v; want > 0, nil", n, err)
	}
	if got, err := mutable.Get(ctxT(t), nodes[4].Server, v3.Key, nil, 3); err != nil || got.Seq != 3 {
		t.Errorf("Get after PutCAS = seq %d, %v; want 3", got.Seq, err)
	}
}

func TestPutRejectsBadItems(t *testing.T) {
	nodes := mutabletest.Start(t, 2, mutabletest.Options{})
	it := sign(t, key(6), "", 1, 1)
	it.Value = mutable.InfohashValue([20]byte{2}) // no longer what was signed
	if n, err := mutable.Put(ctxT(t), nodes[0].Server, it); !errors.Is(err, mutable.ErrBadSignature) || n != 0 {
		t.Errorf("Put(tampered) = %d, %v; want 0, ErrBadSignature", n, err)
	}
	if h := holders(nodes, it); h != 0 {
		t.Errorf("%d nodes hold the tampered item", h)
	}
}

// A lookup among nodes that never answer ends when its context does.
func TestGetBoundedByContext(t *testing.T) {
	getter := mutabletest.Start(t, 1, mutabletest.Options{ResendDelay: time.Minute})[0].Server
	target := mutable.Target(pubOf(key(7)), nil)
	for i := range 3 {
		id := target
		id[19] ^= byte(i + 1)
		h := startHostile(t, id, func(map[string]any) []byte { return []byte{} }) // silent
		mutabletest.AddNode(getter, h.addr(), h.id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := mutable.Get(ctx, getter, pubOf(key(7)), nil, 0)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, mutable.ErrNotFound) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Get = %v, want ErrNotFound and DeadlineExceeded", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Get did not return after its context ended")
	}
}

func TestGetWithoutNodes(t *testing.T) {
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := dht.NewDefaultServerConfig()
	c.Conn = conn
	c.StartingNodes = func() ([]dht.Addr, error) { return nil, nil } // never the public routers
	mutable.ConfigureServer(10, nil)(c)
	s, err := dht.NewServer(c)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := mutable.Get(ctxT(t), s, pubOf(key(8)), nil, 0); !errors.Is(err, mutable.ErrNoNodes) {
		t.Errorf("Get = %v, want ErrNoNodes", err)
	}
	if _, err := mutable.Put(ctxT(t), s, sign(t, key(8), "", 1, 1)); !errors.Is(err, mutable.ErrNoNodes) {
		t.Errorf("Put = %v, want ErrNoNodes", err)
	}
}

// A node's own store is part of every lookup: on a household DHT of two
// devices, the subscriber's node is often the one holding the head.
func TestGetAsksItself(t *testing.T) {
	nodes := mutabletest.Start(t, 2, mutabletest.Options{ResendDelay: 200 * time.Millisecond})
	it := sign(t, key(9), "", 1, 1)
	if err := rawPut(t, nodes[0].Server, nodes[1].Server, it); err != nil {
		t.Fatal(err)
	}
	nodes[0].Server.Close() // the only other node is gone
	got, st, err := mutable.Lookup(ctxT(t), nodes[1].Server, it.Key, nil, 0, nil)
	if err != nil || !sameItem(got, it) {
		t.Fatalf("Lookup = seq %d, %v (stats %+v); want the item the node holds", got.Seq, err, st)
	}
}
