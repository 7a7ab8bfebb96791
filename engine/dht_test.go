package engine_test

import (
	"bytes"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/engine/store"
)

// TestDHTHostileQueries sends the engine's DHT node queries with missing
// arguments. anacrolix's DHT (v2.23.0) dereferenced nil on a bare "put" or
// "announce_peer" in its read loop and the whole daemon died; the engine
// installs the guarded store on every DHT node. The node must keep
// answering afterwards.
func TestDHTHostileQueries(t *testing.T) {
	dir := t.TempDir()
	c := enginetest.Config(t, dir)
	c.Torrent.DHT = true
	st, err := store.Open(store.Options{Dir: filepath.Join(dir, "state"), Logger: enginetest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// An empty, non-nil DHTNodes: no bootstrap at all (never the public routers).
	e, err := engine.New(engine.Options{Config: c, Store: st, Logger: enginetest.Logger(t), ListenHost: "127.0.0.1", DHTNodes: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if e.DHT() == nil {
		t.Fatal("DHT() = nil with torrent.dht on")
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(e.Stats().PeerPort))
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{
		"d1:q3:put1:t2:aa1:y1:qe",
		"d1:q13:announce_peer1:t2:ab1:y1:qe",
		"d1:q3:get1:t2:ac1:y1:qe",
		"d1:ad2:id20:abcdefghij0123456789e1:q3:put1:t2:ad1:y1:qe",
		"d1:ad2:id20:abcdefghij0123456789e1:q13:announce_peer1:t2:ae1:y1:qe",
	} {
		if _, err := conn.Write([]byte(q)); err != nil {
			t.Fatal(err)
		}
	}
	// A well-formed ping still gets its answer: the node (and the process) lives.
	ping := "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:zz1:y1:qe"
	buf := make([]byte, 1500)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := conn.Write([]byte(ping)); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		for {
			n, err := conn.Read(buf)
			if err != nil {
				break
			}
			if b := buf[:n]; contains(b, "1:t2:zz") && contains(b, "1:y1:r") {
				return
			}
		}
	}
	t.Fatal("DHT node stopped answering pings after hostile queries")
}

func contains(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }
