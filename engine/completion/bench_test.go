package completion_test

import (
	"sync/atomic"
	"testing"

	"github.com/anacrolix/torrent/types/infohash"

	"github.com/hearth-media/hearth/engine/completion"
	"github.com/hearth-media/hearth/engine/store"
)

func benchBackends(b *testing.B, fn func(b *testing.B, s store.Store)) {
	for _, name := range store.Backends() {
		if name == store.BackendMemory {
			continue
		}
		b.Run(name, func(b *testing.B) {
			s, err := store.Open(store.Options{Dir: b.TempDir(), Backend: name})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			fn(b, s)
		})
	}
}

// benchPieces is a 4 GiB torrent of 256 KiB pieces.
const benchPieces = 16384

// fillTorrent marks every piece of ih complete.
func fillTorrent(b *testing.B, s store.Store, ih infohash.T) {
	b.Helper()
	c := completion.New(s)
	done := make(chan error)
	for w := range 8 {
		go func() {
			var err error
			for i := w; i < benchPieces && err == nil; i += 8 {
				err = c.Set(pk(ih, i), true)
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSet is one piece hasher marking pieces: one commit each.
func BenchmarkSet(b *testing.B) {
	benchBackends(b, func(b *testing.B, s store.Store) {
		c := completion.New(s)
		for i := 0; b.Loop(); i++ {
			if err := c.Set(pk(ih(1), i), true); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSetParallel is several hashers (the engine runs two per
// torrent, and torrents in parallel): bbolt shares commits among them.
func BenchmarkSetParallel(b *testing.B) {
	benchBackends(b, func(b *testing.B, s store.Store) {
		c := completion.New(s)
		var n atomic.Int64
		b.SetParallelism(4) // 8 goroutines on 2 cores
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := c.Set(pk(ih(1), int(n.Add(1))), true); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func BenchmarkGet(b *testing.B) {
	benchBackends(b, func(b *testing.B, s store.Store) {
		fillTorrent(b, s, ih(1))
		c := completion.New(s)
		for i := 0; b.Loop(); i++ {
			if got, err := c.Get(pk(ih(1), i%benchPieces)); err != nil || !got.Complete {
				b.Fatal(got, err)
			}
		}
	})
}

// BenchmarkGetRange reads all 16,384 marks of a torrent from the cache, as
// the engine does after each verified piece.
func BenchmarkGetRange(b *testing.B) {
	benchBackends(b, func(b *testing.B, s store.Store) {
		fillTorrent(b, s, ih(1))
		c := completion.New(s)
		for b.Loop() {
			n := 0
			for got := range c.GetRange(ih(1), 0, benchPieces) {
				if got.Complete {
					n++
				}
			}
			if n != benchPieces {
				b.Fatal(n)
			}
		}
	})
}

// BenchmarkGetRangeCold is the first GetRange after a restart: one prefix
// scan of 16,384 keys in the store.
func BenchmarkGetRangeCold(b *testing.B) {
	benchBackends(b, func(b *testing.B, s store.Store) {
		fillTorrent(b, s, ih(1))
		for b.Loop() {
			c := completion.New(s)
			n := 0
			for got := range c.GetRange(ih(1), 0, benchPieces) {
				if got.Complete {
					n++
				}
			}
			if n != benchPieces {
				b.Fatal(n)
			}
		}
	})
}
