package mutable

import (
	"errors"
	"net"

	"github.com/anacrolix/torrent/bencode"
)

// servedQueries are the KRPC methods anacrolix dht v2.23.0 answers.
var servedQueries = map[string]bool{
	"ping": true, "find_node": true, "get_peers": true, "announce_peer": true, "get": true, "put": true,
}

// queryFilter is a DHT server's socket that drops queries of methods the
// server does not serve before the server reads them. anacrolix dht
// v2.23.0 counts every query under "received query <method>" in its
// process-global expvar map, before any hook of its config runs, and
// never removes a key: each query with a made-up method name (up to
// 64 KiB of it, from anyone on the internet) would stay in memory until
// the process ends. The server would only answer such a query with an
// error; dropping it costs a querier a timeout, as a node that does not
// know the method but ignores it would.
type queryFilter struct {
	net.PacketConn
}

// krpcHead is the part of a KRPC message the filter looks at.
type krpcHead struct {
	Y string `bencode:"y"`
	Q string `bencode:"q"`
}

func (c queryFilter) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil || !unservedQuery(b[:n]) {
			return n, addr, err
		}
	}
}

// unservedQuery reports whether pkt is a KRPC query of a method the
// server does not serve. Anything it cannot decode goes through: the
// server decodes it the same way and drops it without counting.
func unservedQuery(pkt []byte) bool {
	if len(pkt) < 2 || pkt[0] != 'd' {
		return false
	}
	var h krpcHead
	err := bencode.Unmarshal(pkt, &h)
	var trailing bencode.ErrUnusedTrailingBytes
	if err != nil && !errors.As(err, &trailing) {
		return false
	}
	return h.Y == "q" && !servedQueries[h.Q]
}
