package mutable_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"net"
	"time"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/krpc"

	"github.com/hearth-media/hearth/engine/mutable"
)

// A channel owner publishes version 1 of a channel and a subscriber
// resolves it, on three DHT nodes on loopback (in Hearth, s is
// Engine.DHT() and the engine was started with ConfigureDHT:
// mutable.ConfigureServer(…)).
func Example() {
	var nodes []*dht.Server
	for range 3 {
		conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		c := dht.NewDefaultServerConfig()
		c.Conn = conn
		c.StartingNodes = func() ([]dht.Addr, error) { return nil, nil } // private: no public routers
		mutable.ConfigureServer(100, nil)(c)
		s, err := dht.NewServer(c)
		if err != nil {
			panic(err)
		}
		defer s.Close()
		for _, o := range nodes {
			a := o.Addr().(*net.UDPAddr)
			s.AddNode(krpc.NodeInfo{ID: o.ID(), Addr: krpc.NodeAddr{IP: a.IP.To4(), Port: a.Port}})
		}
		nodes = append(nodes, s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	_, priv, _ := ed25519.GenerateKey(nil)
	salt := []byte("family photos")
	infohash := [20]byte{0xca, 0xfe}
	it, err := mutable.Sign(priv, salt, 1, mutable.InfohashValue(infohash))
	if err != nil {
		panic(err)
	}
	if _, err := mutable.Put(ctx, nodes[2], it); err != nil {
		panic(err)
	}

	// A subscriber knows the key and salt from the channel's link.
	got, err := mutable.Get(ctx, nodes[0], it.Key, salt, 1)
	if err != nil {
		panic(err)
	}
	ih, err := mutable.ParseInfohashValue(got.Value)
	if err != nil {
		panic(err)
	}
	fmt.Printf("version %d: %x…\n", got.Seq, ih[:2])
	// Output: version 1: cafe…
}
