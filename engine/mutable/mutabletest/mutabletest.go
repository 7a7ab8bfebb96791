// Package mutabletest runs a private DHT on loopback for tests and
// benchmarks: anacrolix DHT nodes on 127.0.0.1 that know each other and
// nothing else. They never contact a public bootstrap node.
package mutabletest

import (
	"net"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/krpc"
	alog "github.com/anacrolix/log"
	"golang.org/x/time/rate"

	"github.com/hearth-media/hearth/engine/mutable"
)

// Options tune Start.
type Options struct {
	// MaxItems caps each node's item store; 0 means 1000.
	MaxItems int
	// ResendDelay is how long a node waits for a reply before sending a
	// query again (and, after the last try, before giving up); 0 keeps
	// anacrolix's 2 s. Tests with dead or hostile nodes shorten it.
	ResendDelay time.Duration
}

// Node is one DHT node of a private DHT.
type Node struct {
	Server *dht.Server
	Store  *mutable.Store // its item store, to look inside
}

// Addr is the node's "127.0.0.1:port".
func (n Node) Addr() string { return n.Server.Addr().String() }

// StartNodes starts n DHT nodes on 127.0.0.1 that know each other, each
// with its own send limiter and bounded item store. They are closed at
// the end of the test.
func StartNodes(t testing.TB, n int) []*dht.Server {
	t.Helper()
	return Servers(Start(t, n, Options{}))
}

// Start is StartNodes with options, returning the nodes' stores too.
func Start(t testing.TB, n int, o Options) []Node {
	t.Helper()
	if o.MaxItems == 0 {
		o.MaxItems = 1000
	}
	nodes := make([]Node, 0, n)
	var addrs []dht.Addr
	for range n {
		conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		c := dht.NewDefaultServerConfig()
		c.Conn = conn
		c.NoSecurity = true
		// Never the public routers (NewDefaultServerConfig's default):
		// only the nodes of this private DHT.
		c.StartingNodes = func() ([]dht.Addr, error) { return addrs, nil }
		c.Logger = alog.Default.FilterLevel(alog.Error)
		if o.ResendDelay > 0 {
			d := o.ResendDelay
			c.QueryResendDelay = func() time.Duration { return d }
		}
		st := mutable.NewStore(o.MaxItems, mutable.ItemLifetime)
		// Unlimited sends: nodes of one test share a process, and tests
		// are not where the DHT's manners are checked.
		st.Configure(c, rate.NewLimiter(rate.Inf, 0))
		s, err := dht.NewServer(c)
		if err != nil {
			conn.Close()
			t.Fatalf("start DHT node: %v", err)
		}
		t.Cleanup(s.Close)
		nodes = append(nodes, Node{Server: s, Store: st})
		addrs = append(addrs, dht.NewAddr(conn.LocalAddr()))
	}
	servers := Servers(nodes)
	for _, s := range servers {
		Join(s, servers)
	}
	return nodes
}

// Join puts every server of others into s's routing table (s itself is
// skipped), without any network traffic.
func Join(s *dht.Server, others []*dht.Server) {
	for _, o := range others {
		if o == s {
			continue
		}
		AddNode(s, o.Addr().(*net.UDPAddr), o.ID())
	}
}

// AddNode puts the node with that address and ID into s's routing table
// (e.g. a hostile test node that is not an anacrolix server).
func AddNode(s *dht.Server, addr *net.UDPAddr, id [20]byte) {
	// An error means the bucket is full; a node of a small private DHT
	// still reaches every other one through its neighbours.
	ip := addr.IP
	if ip4 := ip.To4(); ip4 != nil {
		ip = ip4
	}
	_ = s.AddNode(krpc.NodeInfo{ID: id, Addr: krpc.NodeAddr{IP: ip, Port: addr.Port}})
}

// Servers returns the nodes' servers.
func Servers(nodes []Node) []*dht.Server {
	s := make([]*dht.Server, len(nodes))
	for i, n := range nodes {
		s[i] = n.Server
	}
	return s
}

// Addrs returns the servers' "127.0.0.1:port" addresses, e.g. for
// engine.Options.DHTNodes.
func Addrs(servers []*dht.Server) []string {
	a := make([]string, len(servers))
	for i, s := range servers {
		a[i] = s.Addr().String()
	}
	return a
}
