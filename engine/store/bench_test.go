package store_test

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/hearth-media/hearth/engine/store"
)

// Benchmarks run on every persistent backend, in b.TempDir (a real disk
// here, so bbolt's fsyncs count).

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

func benchKey(i int) []byte { return binary.BigEndian.AppendUint64([]byte("bench/"), uint64(i)) }

var benchVal = make([]byte, 100)

// BenchmarkSet is one writer: each Set is a commit (an fsync on bbolt).
func BenchmarkSet(b *testing.B) {
	benchBackends(b, func(b *testing.B, s store.Store) {
		for i := 0; b.Loop(); i++ {
			if err := s.Set(benchKey(i), benchVal); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSetParallel is many writers: bbolt shares commits among them.
func BenchmarkSetParallel(b *testing.B) {
	benchBackends(b, func(b *testing.B, s store.Store) {
		var n atomic.Int64
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := s.Set(benchKey(int(n.Add(1))), benchVal); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkUpdateParallel is many writers with one commit each (no
// sharing), for comparison with BenchmarkSetParallel.
func BenchmarkUpdateParallel(b *testing.B) {
	benchBackends(b, func(b *testing.B, s store.Store) {
		var n atomic.Int64
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				k := benchKey(int(n.Add(1)))
				if err := s.Update(func(tx store.Txn) error { return tx.Set(k, benchVal) }); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func fill(b *testing.B, s store.Store, n int) {
	b.Helper()
	for start := 0; start < n; start += 1000 {
		err := s.Update(func(tx store.Txn) error {
			for i := start; i < min(start+1000, n); i++ {
				if err := tx.Set(benchKey(i), benchVal); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	const n = 100_000
	benchBackends(b, func(b *testing.B, s store.Store) {
		fill(b, s, n)
		for i := 0; b.Loop(); i++ {
			if _, err := s.Get(benchKey(i * 7919 % n)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkScan reads 10,000 keys per op.
func BenchmarkScan(b *testing.B) {
	const n = 10_000
	benchBackends(b, func(b *testing.B, s store.Store) {
		fill(b, s, n)
		for b.Loop() {
			count := 0
			err := s.Scan([]byte("bench/"), func(k, v []byte) error { count++; return nil })
			if err != nil || count != n {
				b.Fatal(fmt.Sprint(count, err))
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
	})
}
