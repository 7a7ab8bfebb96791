package completion_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
	"github.com/anacrolix/torrent/types/infohash"

	"github.com/hearth-media/hearth/engine/completion"
	"github.com/hearth-media/hearth/engine/store"
)

// forBackends runs fn against every compiled store backend. reopen closes
// the store and opens it again from the same directory (for memory it
// returns the same store, which keeps nothing anyway).
func forBackends(t *testing.T, fn func(t *testing.T, s store.Store, reopen func(store.Store) store.Store)) {
	for _, b := range store.Backends() {
		t.Run(b, func(t *testing.T) {
			dir := t.TempDir()
			open := func() store.Store {
				s, err := store.Open(store.Options{Dir: dir, Backend: b})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				return s
			}
			reopen := func(s store.Store) store.Store {
				if b == store.BackendMemory {
					return s
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				return open()
			}
			fn(t, open(), reopen)
		})
	}
}

func ih(b byte) infohash.T {
	var h infohash.T
	for i := range h {
		h[i] = b
	}
	return h
}

func pk(h infohash.T, i int) metainfo.PieceKey { return metainfo.PieceKey{InfoHash: h, Index: i} }

func get(t *testing.T, c *completion.Completion, h infohash.T, i int) storage.Completion {
	t.Helper()
	got, err := c.Get(pk(h, i))
	if err != nil || got.Err != nil {
		t.Fatalf("Get(%d) = %+v, %v", i, got, err)
	}
	return got
}

func set(t *testing.T, c *completion.Completion, h infohash.T, i int, complete bool) {
	t.Helper()
	if err := c.Set(pk(h, i), complete); err != nil {
		t.Fatalf("Set(%d, %v) = %v", i, complete, err)
	}
}

func rangeOf(c *completion.Completion, h infohash.T, begin, end int) []storage.Completion {
	return slices.Collect(c.GetRange(h, begin, end))
}

var (
	unknown    = storage.Completion{}
	incomplete = storage.Completion{Ok: true}
	complete   = storage.Completion{Ok: true, Complete: true}
)

func TestGetSet(t *testing.T) {
	forBackends(t, func(t *testing.T, s store.Store, _ func(store.Store) store.Store) {
		c := completion.New(s)
		a := ih(0xaa)
		if got := get(t, c, a, 0); got != unknown {
			t.Errorf("Get of an unmarked piece = %+v, want Ok false", got)
		}
		set(t, c, a, 0, true)
		set(t, c, a, 1, false)
		set(t, c, a, 300, true)
		tests := []struct {
			i    int
			want storage.Completion
		}{
			{0, complete}, {1, incomplete}, {2, unknown}, {255, unknown}, {300, complete}, {301, unknown}, {1 << 30, unknown},
		}
		for _, tt := range tests {
			if got := get(t, c, a, tt.i); got != tt.want {
				t.Errorf("Get(%d) = %+v, want %+v", tt.i, got, tt.want)
			}
		}
		set(t, c, a, 0, false) // complete → incomplete
		if got := get(t, c, a, 0); got != incomplete {
			t.Errorf("Get(0) after Set(false) = %+v, want incomplete", got)
		}
		if got := get(t, c, ih(0xab), 0); got != unknown {
			t.Errorf("Get of another torrent = %+v, want unknown", got)
		}
		if n := c.Sets(); n != 4 {
			t.Errorf("Sets() = %d, want 4", n)
		}
		bad := []int{-1}
		if strconv.IntSize == 64 {
			over := uint64(1) << 33 // a variable: the constant overflows int on 32-bit
			bad = append(bad, int(over))
		}
		for _, i := range bad {
			if err := c.Set(pk(a, i), true); !errors.Is(err, completion.ErrPieceIndex) {
				t.Errorf("Set(%d) = %v, want ErrPieceIndex", i, err)
			}
			if _, err := c.Get(pk(a, i)); !errors.Is(err, completion.ErrPieceIndex) {
				t.Errorf("Get(%d) = %v, want ErrPieceIndex", i, err)
			}
		}
	})
}

func TestGetRange(t *testing.T) {
	forBackends(t, func(t *testing.T, s store.Store, reopen func(store.Store) store.Store) {
		c := completion.New(s)
		a, b := ih(1), ih(2)
		set(t, c, a, 1, true)
		set(t, c, a, 2, false)
		set(t, c, a, 4, true)
		set(t, c, b, 0, true) // the neighbour torrent must not leak in
		set(t, c, b, 3, true)
		check := func(c *completion.Completion) {
			t.Helper()
			tests := []struct {
				begin, end int
				want       []storage.Completion
			}{
				{0, 6, []storage.Completion{unknown, complete, incomplete, unknown, complete, unknown}},
				{2, 4, []storage.Completion{incomplete, unknown}},
				{4, 5, []storage.Completion{complete}},
				{5, 9, []storage.Completion{unknown, unknown, unknown, unknown}},
				{3, 3, nil},
				{4, 2, nil},
			}
			for _, tt := range tests {
				if got := rangeOf(c, a, tt.begin, tt.end); !slices.Equal(got, tt.want) {
					t.Errorf("GetRange(%d, %d) = %+v, want %+v", tt.begin, tt.end, got, tt.want)
				}
			}
			// The engine's wrapper must pick our fast path and agree.
			got := slices.Collect(storage.GetPieceCompletionRange(c, a, 0, 6))
			if want := rangeOf(c, a, 0, 6); !slices.Equal(got, want) {
				t.Errorf("GetPieceCompletionRange = %+v, want %+v", got, want)
			}
			// An unknown torrent still yields end-begin values.
			if got := rangeOf(c, ih(9), 0, 3); !slices.Equal(got, []storage.Completion{unknown, unknown, unknown}) {
				t.Errorf("GetRange(unknown torrent) = %+v", got)
			}
			// Stopping early is fine.
			n := 0
			for range c.GetRange(a, 0, 100) {
				n++
				if n == 2 {
					break
				}
			}
		}
		check(c)
		check(completion.New(reopen(s)))
	})
}

// TestHugeIndex covers piece indices past the cache's dense part: they must
// work without allocating per-index memory up to them.
func TestHugeIndex(t *testing.T) {
	forBackends(t, func(t *testing.T, s store.Store, reopen func(store.Store) store.Store) {
		c := completion.New(s)
		a := ih(7)
		const base = 1 << 20
		set(t, c, a, 2, true)
		set(t, c, a, base+1, true)
		set(t, c, a, base+3, false)
		set(t, c, a, math.MaxInt32, true)
		check := func(c *completion.Completion) {
			t.Helper()
			want := []storage.Completion{unknown, complete, unknown, incomplete, unknown}
			if got := rangeOf(c, a, base, base+5); !slices.Equal(got, want) {
				t.Errorf("GetRange(2^20, 2^20+5) = %+v, want %+v", got, want)
			}
			if got := get(t, c, a, math.MaxInt32); got != complete {
				t.Errorf("Get(MaxInt32) = %+v, want complete", got)
			}
			if got := rangeOf(c, a, math.MaxInt32-1, math.MaxInt32); !slices.Equal(got, []storage.Completion{unknown}) {
				t.Errorf("GetRange(MaxInt32-1, MaxInt32) = %+v", got)
			}
			if k, err := c.Count(a); err != nil || k != 3 {
				t.Errorf("Count = %d, %v; want 3", k, err)
			}
			bm, err := c.Bitmap(a, base+2)
			if err != nil || !bm[2] || !bm[base+1] || bm[base] {
				t.Errorf("Bitmap(a, 2^20+2) wrong at 2, 2^20 or 2^20+1 (err %v)", err)
			}
		}
		check(c)
		if s.Backend() != store.BackendMemory {
			check(completion.New(reopen(s)))
		}
	})
}

// TestPersist checks marks survive a reopen of the store and that a fresh
// Completion reads them from the store, not from memory.
func TestPersist(t *testing.T) {
	forBackends(t, func(t *testing.T, s store.Store, reopen func(store.Store) store.Store) {
		if s.Backend() == store.BackendMemory {
			t.Skip("memory does not persist")
		}
		c := completion.New(s)
		a := ih(0x11)
		const n = 3000
		for i := range n {
			set(t, c, a, i, i%3 != 0)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		// Close must not close the store.
		if err := s.Set([]byte("x"), nil); err != nil {
			t.Fatalf("store after Completion.Close: Set = %v", err)
		}
		s = reopen(s)
		c = completion.New(s)
		got := rangeOf(c, a, 0, n)
		for i, g := range got {
			if want := (storage.Completion{Ok: true, Complete: i%3 != 0}); g != want {
				t.Fatalf("after reopen, piece %d = %+v, want %+v", i, g, want)
			}
		}
		if k, err := c.Count(a); err != nil || k != n-n/3 {
			t.Errorf("Count = %d, %v; want %d", k, err, n-n/3)
		}
		if c.Sets() != 0 {
			t.Errorf("Sets() of a new Completion = %d, want 0", c.Sets())
		}
	})
}

func TestKeyLayout(t *testing.T) {
	forBackends(t, func(t *testing.T, s store.Store, _ func(store.Store) store.Store) {
		c := completion.New(s)
		a := ih(0x42)
		idx := []int{0, 1, 255, 256, 65536, math.MaxInt32}
		if strconv.IntSize == 64 {
			last := uint64(math.MaxUint32) // a variable: the constant overflows int on 32-bit
			idx = append(idx, int(last))
		}
		for _, i := range slices.Backward(idx) {
			set(t, c, a, i, true)
		}
		var keys [][]byte
		err := s.Scan([]byte(completion.Prefix), func(k, v []byte) error {
			keys = append(keys, bytes.Clone(k))
			if !bytes.Equal(v, []byte{1}) {
				t.Errorf("value of %x = %x, want 01", k, v)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != len(idx) {
			t.Fatalf("store holds %d keys, want %d", len(keys), len(idx))
		}
		for j, k := range keys {
			want := append([]byte("pc/"), a[:]...)
			want = binary.BigEndian.AppendUint32(want, uint32(idx[j]))
			if !bytes.Equal(k, want) {
				t.Errorf("key %d = %x, want %x (in piece order)", j, k, want)
			}
		}
	})
}

func TestCountBitmapForget(t *testing.T) {
	forBackends(t, func(t *testing.T, s store.Store, reopen func(store.Store) store.Store) {
		c := completion.New(s)
		a, b := ih(0x10), ih(0x11)
		const n = 2500 // more than one delete batch
		for i := range n {
			set(t, c, a, i, i%2 == 0)
		}
		set(t, c, b, 0, true)
		if err := s.Set([]byte("pc0"), []byte("neighbour")); err != nil { // sorts after every pc/ key
			t.Fatal(err)
		}
		if k, err := c.Count(a); err != nil || k != n/2 {
			t.Errorf("Count(a) = %d, %v; want %d", k, err, n/2)
		}
		bm, err := c.Bitmap(a, 5)
		if err != nil || !slices.Equal(bm, []bool{true, false, true, false, true}) {
			t.Errorf("Bitmap(a, 5) = %v, %v", bm, err)
		}
		bm, err = c.Bitmap(b, 3)
		if err != nil || !slices.Equal(bm, []bool{true, false, false}) {
			t.Errorf("Bitmap(b, 3) = %v, %v", bm, err)
		}
		if err := c.Forget(a); err != nil {
			t.Fatal(err)
		}
		if k, err := c.Count(a); err != nil || k != 0 {
			t.Errorf("Count(a) after Forget = %d, %v", k, err)
		}
		if got := get(t, c, a, 0); got != unknown {
			t.Errorf("Get(a, 0) after Forget = %+v, want unknown", got)
		}
		s = reopen(s)
		c = completion.New(s)
		if k, err := c.Count(a); err != nil || k != 0 {
			t.Errorf("Count(a) after Forget and reopen = %d, %v", k, err)
		}
		if k, err := c.Count(b); err != nil || k != 1 {
			t.Errorf("Count(b) = %d, %v; want 1 (Forget of another torrent)", k, err)
		}
		if v, err := s.Get([]byte("pc0")); err != nil || string(v) != "neighbour" {
			t.Errorf("neighbouring key = %q, %v", v, err)
		}
	})
}

// TestConcurrent sets marks from many goroutines, as the engine's piece
// hashers do, and checks every one landed in the store.
func TestConcurrent(t *testing.T) {
	forBackends(t, func(t *testing.T, s store.Store, reopen func(store.Store) store.Store) {
		c := completion.New(s)
		const workers, per = 8, 100
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				h := ih(byte(w % 3))
				for i := range per {
					idx := w*per + i
					if err := c.Set(pk(h, idx), true); err != nil {
						t.Error(err)
						return
					}
					if got, _ := c.Get(pk(h, idx)); got != complete {
						t.Errorf("Get after Set = %+v", got)
					}
					for range c.GetRange(h, 0, idx+1) {
					}
				}
			}()
		}
		wg.Wait()
		if c.Sets() != workers*per {
			t.Errorf("Sets() = %d, want %d", c.Sets(), workers*per)
		}
		c = completion.New(reopen(s))
		total := 0
		for b := range 3 {
			k, err := c.Count(ih(byte(b)))
			if err != nil {
				t.Fatal(err)
			}
			total += k
		}
		if total != workers*per {
			t.Errorf("marks in store = %d, want %d", total, workers*per)
		}
	})
}

func TestStoreErrors(t *testing.T) {
	s, err := store.Open(store.Options{Backend: "memory"})
	if err != nil {
		t.Fatal(err)
	}
	c := completion.New(s)
	s.Close()
	if err := c.Set(pk(ih(1), 0), true); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Set on a closed store = %v, want ErrClosed", err)
	}
	got, err := c.Get(pk(ih(1), 0))
	if !errors.Is(err, store.ErrClosed) || !errors.Is(got.Err, store.ErrClosed) {
		t.Errorf("Get on a closed store = %+v, %v; want ErrClosed", got, err)
	}
	r := rangeOf(c, ih(1), 0, 3)
	if len(r) != 3 || !errors.Is(r[0].Err, store.ErrClosed) {
		t.Errorf("GetRange on a closed store = %+v, want 3 values with ErrClosed", r)
	}
	if err := c.Forget(ih(1)); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Forget on a closed store = %v", err)
	}
}
