package channel

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2"
	"golang.org/x/time/rate"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/engine/mutable"
	"github.com/hearth-media/hearth/engine/mutable/mutabletest"
	"github.com/hearth-media/hearth/engine/store"
)

func TestMain(m *testing.M) {
	enginetest.ClassicFileIO()
	os.Exit(m.Run())
}

// testPieceLength keeps padding small next to the test's small photos.
const testPieceLength = 32 << 10

// node is a daemon's worth of channel machinery: an engine on loopback
// in the test's private DHT, its store, and a running Manager.
type node struct {
	t      testing.TB
	name   string
	dir    string
	eng    *engine.Engine
	st     store.Store
	m      *Manager
	cancel context.CancelFunc
	done   chan struct{}
}

type nodeOptions struct {
	dir    string   // reuse a node's folder (a restart); "" = a new one
	dht    *testDHT // nil: DHT off
	lan    LAN
	opts   func(*Options)
	config func(*config.Config)
}

// testDHT is a private DHT on loopback: a few plain nodes
// (mutabletest; none makes a DHT of engines alone) and the DHT node of
// every test engine, all in each other's routing tables. Every node keeps
// the peers announced to it (mutable.ConfigureServer's PeerStore), as
// Hearth's do outside tests.
type testDHT struct {
	mu      sync.Mutex
	servers []*dht.Server
}

func newTestDHT(t testing.TB, plain int) *testDHT {
	return &testDHT{servers: mutabletest.StartNodes(t, plain)}
}

func (d *testDHT) addrs() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return mutabletest.Addrs(d.servers)
}

// join adds s to every node's routing table and every node to s's.
func (d *testDHT) join(s *dht.Server) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, o := range d.servers {
		mutabletest.AddNode(o, s.Addr().(*net.UDPAddr), s.ID())
	}
	mutabletest.Join(s, d.servers)
	d.servers = append(d.servers, s)
}

func startNode(t testing.TB, name string, no nodeOptions) *node {
	t.Helper()
	dir := no.dir
	if dir == "" {
		dir = t.TempDir()
	}
	c := enginetest.Config(t, dir)
	if no.config != nil {
		no.config(c)
	}
	eo := engine.Options{Config: c, Logger: enginetest.Logger(t).With("node", name), ListenHost: "127.0.0.1"}
	if no.dht != nil {
		c.Torrent.DHT = true
		eo.DHTNodes = no.dht.addrs()
		eo.ConfigureDHT = func(sc *dht.ServerConfig) {
			// Its own unlimited send limiter: every node of the test shares
			// one process (see FIELD-NOTES on dht.DefaultSendLimiter).
			mutable.ConfigureServer(200, rate.NewLimiter(rate.Inf, 0))(sc)
			sc.NoSecurity = true
		}
	}
	st, err := store.Open(store.Options{Dir: filepath.Join(dir, "state"), Logger: enginetest.Logger(t)})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	eo.Store = st
	eng, err := engine.New(eo)
	if err != nil {
		st.Close()
		t.Fatalf("start engine: %v", err)
	}
	o := Options{
		Engine: eng, Store: st, LAN: no.lan, Logger: eo.Logger,
		Dir:          filepath.Join(dir, "channels"),
		DownloadDir:  func() string { return eng.Settings().DownloadDir },
		PollInterval: 500 * time.Millisecond,
		Republish:    2 * time.Second,
		PublishDelay: -1,
		PieceLength:  testPieceLength,
		KeepRemoved:  true,

		LookupTimeout: 5 * time.Second,
		FetchTimeout:  20 * time.Second,
	}
	if no.dht != nil {
		no.dht.join(eng.DHT())
		o.DHT = ServerDHT(eng.DHT())
	}
	if no.opts != nil {
		no.opts(&o)
	}
	m, err := New(o)
	if err != nil {
		eng.Close()
		st.Close()
		t.Fatalf("start channel manager: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{t: t, name: name, dir: dir, eng: eng, st: st, m: m, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(n.done)
		m.Serve(ctx)
	}()
	t.Cleanup(n.stop)
	return n
}

// stop stops the manager, the engine and the store; safe to call twice.
func (n *node) stop() {
	if n.eng == nil {
		return
	}
	n.cancel()
	<-n.done
	if err := n.eng.Close(); err != nil {
		n.t.Errorf("%s: close engine: %v", n.name, err)
	}
	if err := n.st.Close(); err != nil {
		n.t.Errorf("%s: close store: %v", n.name, err)
	}
	n.eng = nil
}

// writeFiles writes random files (path → size) under dir.
func writeFiles(t testing.TB, dir string, files map[string]int64) {
	t.Helper()
	for p, size := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(full)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(f, rand.Reader, size); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// sameTree fails unless every regular, non-hidden file under want is in
// got with the same bytes, and got has no other such file.
func sameTree(t testing.TB, want, got string) {
	t.Helper()
	list := func(root string) map[string][]byte {
		out := map[string][]byte{}
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				t.Fatalf("walk %s: %v", root, err)
			}
			if p != root && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				rel, _ := filepath.Rel(root, p)
				out[filepath.ToSlash(rel)] = b
			}
			return nil
		})
		return out
	}
	w, g := list(want), list(got)
	for p, b := range w {
		if gb, ok := g[p]; !ok {
			t.Errorf("%s: missing in %s", p, got)
		} else if !bytes.Equal(gb, b) {
			t.Errorf("%s: content differs (%d bytes, want %d)", p, len(gb), len(b))
		}
	}
	for p := range g {
		if _, ok := w[p]; !ok {
			t.Errorf("%s: unexpected file in %s", p, got)
		}
	}
}

// waitSub polls a subscription until cond holds or fails after timeout.
func waitSub(t testing.TB, n *node, ref string, timeout time.Duration, what string, cond func(Subscription) bool) Subscription {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last Subscription
	for {
		s, err := n.m.Subscription(ref)
		if err == nil {
			last = s
			if cond(s) {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: timed out waiting for %s: state %s, version %d (latest %d), %d/%d bytes, error %q, reject %q (err %v)",
				n.name, what, last.State, last.Version, last.Latest, last.Done, last.Bytes, last.Error, last.LastReject, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func synced(version int64) func(Subscription) bool {
	return func(s Subscription) bool {
		return s.Version == version && s.State == StateSynced
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
