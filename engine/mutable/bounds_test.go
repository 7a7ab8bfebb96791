package mutable_test

import (
	"expvar"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/torrent/bencode"

	"github.com/hearth-media/hearth/engine/mutable/mutabletest"
)

// dhtVar counts the keys of anacrolix dht's process-global expvar map
// "dht" that start with prefix, and returns the value of key.
func dhtVar(prefix, key string) (n int, v int64) {
	expvar.Get("dht").(*expvar.Map).Do(func(kv expvar.KeyValue) {
		if strings.HasPrefix(kv.Key, prefix) {
			n++
		}
		if kv.Key == key {
			if i, ok := kv.Value.(*expvar.Int); ok {
				v = i.Value()
			}
		}
	})
	return n, v
}

// anacrolix dht v2.23.0 adds "received query <method>" to its
// process-global expvar map for every query, before any hook of the
// server's config runs, and never removes a key: each query with a
// made-up method name (up to 64 KiB of it) stayed in memory until the
// process ended. A node configured by Store.Configure drops queries of
// methods it does not serve before the server reads them. The flood
// comes from 64 loopback addresses; each sends a ping after its batch,
// and the node must still answer every ping.
func TestUnknownQueriesLeaveNoTrace(t *testing.T) {
	nodes := mutabletest.Start(t, 1, mutabletest.Options{})
	to := nodes[0].Server.Addr()
	const (
		sources   = 64
		perSource = 64
		flood     = `received query "flood-`
		pingKey   = `received query "ping"`
	)
	_, pingsBefore := dhtVar(flood, pingKey)
	id := strings.Repeat("i", 20)
	name := strings.Repeat("x", 1000)
	for i := range sources {
		c, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.%d.%d:0", 10+i/200, 1+i%200))
		if err != nil {
			t.Fatal(err)
		}
		for j := range perSource {
			q := fmt.Sprintf("flood-%d-%d-%s", i, j, name)
			pkt := fmt.Appendf(nil, "d1:ad2:id20:%se1:q%d:%s1:t2:aa1:y1:qe", id, len(q), q)
			if _, err := c.WriteTo(pkt, to); err != nil {
				t.Fatal(err)
			}
		}
		// The node reads its socket in order: a reply to this ping means
		// it read the batch.
		ping := fmt.Appendf(nil, "d1:ad2:id20:%se1:q4:ping1:t2:pp1:y1:qe", id)
		if _, err := c.WriteTo(ping, to); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 1500)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				t.Fatalf("source %d: no answer to a ping after %d unknown queries: %v", i, perSource, err)
			}
			var m krpc.Msg
			if bencode.Unmarshal(buf[:n], &m) == nil && m.T == "pp" && m.Y == "r" {
				break
			}
		}
		c.Close()
	}
	// The server counts queries in goroutines of their own: wait until
	// the pings are counted, which is after the flood's queries would be.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, pings := dhtVar(flood, pingKey)
		if pings-pingsBefore >= sources {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pings counted = %d, want %d", pings-pingsBefore, sources)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n, _ := dhtVar(flood, pingKey); n != 0 {
		t.Errorf("expvar dht holds %d keys of made-up query methods after %d such queries, want 0", n, sources*perSource)
	}
}
