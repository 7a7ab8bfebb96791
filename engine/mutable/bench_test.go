package mutable_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine/mutable"
	"github.com/hearth-media/hearth/engine/mutable/mutabletest"
)

// BenchmarkGet is the time to resolve a channel head: a full checked get
// traversal of a private loopback DHT, from a node other than the
// publisher. It reports the nodes asked per lookup.
func BenchmarkGet(b *testing.B) {
	for _, n := range []int{8, 16} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			nodes := mutabletest.StartNodes(b, n)
			it := sign(b, key(1), "bench", 1, 1)
			put(b, nodes[0], it)
			var queried int
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				got, st, err := mutable.Lookup(ctx, nodes[n-1], it.Key, it.Salt, 1, nil)
				cancel()
				if err != nil || got.Seq != 1 {
					b.Fatalf("Lookup = seq %d, %v", got.Seq, err)
				}
				queried += st.Queried
			}
			b.ReportMetric(float64(queried)/float64(b.N), "queried/op")
		})
	}
}

// BenchmarkPut is the time to publish a new version: a get traversal for
// tokens, then puts to the closest nodes.
func BenchmarkPut(b *testing.B) {
	nodes := mutabletest.StartNodes(b, 16)
	priv := key(2)
	seq := int64(0)
	for b.Loop() {
		seq++
		it := sign(b, priv, "", seq, byte(seq))
		put(b, nodes[int(seq)%len(nodes)], it)
	}
}
