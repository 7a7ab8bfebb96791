package mutabletest_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/engine/mutable"
	"github.com/hearth-media/hearth/engine/mutable/mutabletest"
	"github.com/hearth-media/hearth/engine/store"
)

func TestMain(m *testing.M) {
	enginetest.ClassicFileIO()
	m.Run()
}

func sign(t *testing.T, seed byte, seq int64) mutable.Item {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	it, err := mutable.Sign(priv, []byte("channel"), seq, mutable.InfohashValue([20]byte{seed, byte(seq)}))
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// An engine with its DHT on, pointed at the private DHT and configured by
// mutable.ConfigureServer, puts and gets items through Engine.DHT(), and
// its node stores and serves items for others.
func TestEngineOnPrivateDHT(t *testing.T) {
	nodes := mutabletest.StartNodes(t, 4)
	dir := t.TempDir()
	c := enginetest.Config(t, dir)
	c.Torrent.DHT = true
	c.Torrent.DHTBootstrap = nil
	st, err := store.Open(store.Options{Dir: filepath.Join(dir, "state"), Backend: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng, err := engine.New(engine.Options{
		Config:       c,
		Store:        st,
		Logger:       enginetest.Logger(t),
		ListenHost:   "127.0.0.1",
		DHTNodes:     mutabletest.Addrs(nodes), // never the public routers
		ConfigureDHT: mutable.ConfigureServer(c.Channels.DHTItems, nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	s := eng.DHT()
	if s == nil {
		t.Fatal("Engine.DHT() = nil with the DHT on")
	}
	if ip := s.Addr().(*net.UDPAddr).IP; !ip.IsLoopback() {
		t.Fatalf("engine DHT node listens on %v, want loopback", s.Addr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// The engine publishes; a private node resolves.
	mine := sign(t, 1, 1)
	if n, err := mutable.Put(ctx, s, mine); err != nil || n == 0 {
		t.Fatalf("Put through the engine = %d, %v", n, err)
	}
	got, err := mutable.Get(ctx, nodes[3], mine.Key, mine.Salt, 1)
	if err != nil || got.Seq != 1 || !bytes.Equal(got.Value, mine.Value) {
		t.Fatalf("Get from a private node = seq %d, %v; want seq 1", got.Seq, err)
	}

	// A private node publishes; the engine resolves.
	theirs := sign(t, 2, 7)
	if n, err := mutable.Put(ctx, nodes[0], theirs); err != nil || n < 4 {
		t.Fatalf("Put from a private node = %d, %v; want all 4 others, the engine among them", n, err)
	}
	got, err = mutable.Get(ctx, s, theirs.Key, theirs.Salt, 0)
	if err != nil || got.Seq != 7 {
		t.Fatalf("Get through the engine = seq %d, %v; want seq 7", got.Seq, err)
	}

	// A node that knows only the engine gets the item from the engine's
	// store: the engine's node keeps and serves items (the torrent client
	// alone would give it an expiry of zero and serve none).
	for _, n := range nodes {
		n.Close()
	}
	// (It also asks the closed nodes the engine names: a short resend
	// delay keeps their timeouts short.)
	alone := mutabletest.Start(t, 1, mutabletest.Options{ResendDelay: 200 * time.Millisecond})[0].Server
	mutabletest.AddNode(alone, s.Addr().(*net.UDPAddr), s.ID())
	got, err = mutable.Get(ctx, alone, theirs.Key, theirs.Salt, 0)
	if err != nil || got.Seq != 7 {
		t.Fatalf("Get from the engine's store = seq %d, %v; want seq 7", got.Seq, err)
	}
}
