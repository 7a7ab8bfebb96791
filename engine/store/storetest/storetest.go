// Package storetest is the conformance suite every store.Store backend
// must pass. Run it from a backend's tests:
//
//	storetest.Run(t, func(t *testing.T, dir string) store.Store { ... })
package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine/store"
)

// Opener opens the store kept in dir (a fresh t.TempDir or one a previous
// call used). The suite closes what it opens.
type Opener func(t *testing.T, dir string) store.Store

// Run runs the whole suite. Persistence subtests are skipped for the
// memory backend, which keeps nothing across Close.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name    string
		persist bool
		fn      func(*testing.T, Opener)
	}{
		{"GetSetDelete", false, testGetSetDelete},
		{"EmptyValue", false, testEmptyValue},
		{"Copies", false, testCopies},
		{"InvalidKey", false, testInvalidKey},
		{"ScanOrder", false, testScanOrder},
		{"ScanStop", false, testScanStop},
		{"UpdateAtomic", false, testUpdateAtomic},
		{"UpdateReadsOwnWrites", false, testUpdateReadsOwnWrites},
		{"UpdateScanDelete", false, testUpdateScanDelete},
		{"UpdateMinTxnKeys", false, testUpdateMinTxnKeys},
		{"View", false, testView},
		{"Concurrent", false, testConcurrent},
		{"LargeValues", true, testLargeValues},
		{"ManyKeysReopen", true, testManyKeysReopen},
		{"Reopen", true, testReopen},
		{"Closed", false, testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.persist {
				s := open(t, t.TempDir())
				b := s.Backend()
				s.Close()
				if b == store.BackendMemory {
					t.Skip("memory backend does not persist")
				}
			}
			tt.fn(t, open)
		})
	}
}

// openNew opens a store in a fresh directory and closes it at cleanup.
func openNew(t *testing.T, open Opener) store.Store {
	t.Helper()
	s := open(t, t.TempDir())
	t.Cleanup(func() { s.Close() })
	return s
}

func reopen(t *testing.T, open Opener, s store.Store, dir string) store.Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	s = open(t, dir)
	t.Cleanup(func() { s.Close() })
	return s
}

func mustSet(t *testing.T, s store.Store, k, v string) {
	t.Helper()
	if err := s.Set([]byte(k), []byte(v)); err != nil {
		t.Fatalf("Set(%q) = %v", k, err)
	}
}

func wantGet(t *testing.T, r store.Reader, k, want string) {
	t.Helper()
	got, err := r.Get([]byte(k))
	if err != nil {
		t.Fatalf("Get(%q) = %v, want %q", k, err, want)
	}
	if string(got) != want {
		t.Fatalf("Get(%q) = %q, want %q", k, got, want)
	}
}

func wantMissing(t *testing.T, r store.Reader, k string) {
	t.Helper()
	got, err := r.Get([]byte(k))
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", k, got, err)
	}
}

// scanKeys returns the keys under prefix in scan order.
func scanKeys(t *testing.T, r store.Reader, prefix string) []string {
	t.Helper()
	var keys []string
	err := r.Scan([]byte(prefix), func(k, v []byte) error {
		keys = append(keys, string(k))
		return nil
	})
	if err != nil {
		t.Fatalf("Scan(%q) = %v", prefix, err)
	}
	return keys
}

func testGetSetDelete(t *testing.T, open Opener) {
	s := openNew(t, open)
	wantMissing(t, s, "a")
	mustSet(t, s, "a", "1")
	wantGet(t, s, "a", "1")
	mustSet(t, s, "a", "2") // overwrite
	wantGet(t, s, "a", "2")
	mustSet(t, s, "b", "3")
	if err := s.Delete([]byte("a")); err != nil {
		t.Fatalf("Delete(a) = %v", err)
	}
	wantMissing(t, s, "a")
	wantGet(t, s, "b", "3")
	if err := s.Delete([]byte("never")); err != nil {
		t.Fatalf("Delete(missing) = %v, want nil", err)
	}
	if b := s.Backend(); !slices.Contains(store.Backends(), b) {
		t.Errorf("Backend() = %q, want one of %v", b, store.Backends())
	}
	if err := s.Sync(); err != nil {
		t.Errorf("Sync() = %v", err)
	}
}

func testEmptyValue(t *testing.T, open Opener) {
	s := openNew(t, open)
	for _, v := range [][]byte{nil, {}} {
		if err := s.Set([]byte("e"), v); err != nil {
			t.Fatalf("Set(e, %v) = %v", v, err)
		}
		got, err := s.Get([]byte("e"))
		if err != nil || len(got) != 0 {
			t.Fatalf("Get(e) = %q, %v; want empty, nil", got, err)
		}
		n := 0
		if err := s.Scan([]byte("e"), func(k, v []byte) error {
			n++
			if len(v) != 0 {
				t.Errorf("Scan value of e = %q, want empty", v)
			}
			return nil
		}); err != nil || n != 1 {
			t.Fatalf("Scan(e) saw %d keys, err %v; want 1, nil", n, err)
		}
	}
	wantMissing(t, s, "f")
}

func testCopies(t *testing.T, open Opener) {
	s := openNew(t, open)
	key, val := []byte("k"), []byte("value")
	if err := s.Set(key, val); err != nil {
		t.Fatal(err)
	}
	key[0], val[0] = 'x', 'x' // the store must have copied both
	wantGet(t, s, "k", "value")
	got, _ := s.Get([]byte("k"))
	got[0] = 'y'
	wantGet(t, s, "k", "value")

	// Buffers reused inside one transaction.
	err := s.Update(func(tx store.Txn) error {
		buf := []byte("t1")
		if err := tx.Set(buf, buf); err != nil {
			return err
		}
		buf[1] = '2'
		return tx.Set(buf, buf)
	})
	if err != nil {
		t.Fatal(err)
	}
	wantGet(t, s, "t1", "t1")
	wantGet(t, s, "t2", "t2")
}

func testInvalidKey(t *testing.T, open Opener) {
	s := openNew(t, open)
	long := bytes.Repeat([]byte{'k'}, store.MaxKeySize+1)
	for _, k := range [][]byte{nil, {}, long} {
		if err := s.Set(k, []byte("v")); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Set(len %d) = %v, want ErrInvalidKey", len(k), err)
		}
		if _, err := s.Get(k); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Get(len %d) = %v, want ErrInvalidKey", len(k), err)
		}
		if err := s.Delete(k); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Delete(len %d) = %v, want ErrInvalidKey", len(k), err)
		}
	}
	maxKey := bytes.Repeat([]byte{'m'}, store.MaxKeySize)
	if err := s.Set(maxKey, []byte("v")); err != nil {
		t.Fatalf("Set(len %d) = %v", len(maxKey), err)
	}
	if v, err := s.Get(maxKey); err != nil || string(v) != "v" {
		t.Fatalf("Get(len %d) = %q, %v", len(maxKey), v, err)
	}
}

func testScanOrder(t *testing.T, open Opener) {
	s := openNew(t, open)
	keys := []string{"a", "ab", "abc", "ab\xff", "ab\xff\xff", "ac", "b", "\x00", "\xff", "\xff\xff", "\xff\xff\x00", "\xfe\xff"}
	rand.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	for _, k := range keys {
		mustSet(t, s, k, "v"+k)
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"\x00", "a", "ab", "abc", "ab\xff", "ab\xff\xff", "ac", "b", "\xfe\xff", "\xff", "\xff\xff", "\xff\xff\x00"}},
		{"ab", []string{"ab", "abc", "ab\xff", "ab\xff\xff"}},
		{"ab\xff", []string{"ab\xff", "ab\xff\xff"}},
		{"\xff", []string{"\xff", "\xff\xff", "\xff\xff\x00"}},
		{"\xff\xff", []string{"\xff\xff", "\xff\xff\x00"}},
		{"\xfe", []string{"\xfe\xff"}},
		{"abcd", nil},
		{"aa", nil},
		{"c", nil},
		{"\xff\xff\xff", nil},
	}
	for _, tt := range tests {
		got := scanKeys(t, s, tt.prefix)
		if !slices.Equal(got, tt.want) {
			t.Errorf("Scan(%q) = %q, want %q", tt.prefix, got, tt.want)
		}
		// Values match their keys.
		s.Scan([]byte(tt.prefix), func(k, v []byte) error {
			if string(v) != "v"+string(k) {
				t.Errorf("Scan(%q): value of %q = %q", tt.prefix, k, v)
			}
			return nil
		})
	}
}

func testScanStop(t *testing.T, open Opener) {
	s := openNew(t, open)
	for i := range 10 {
		mustSet(t, s, fmt.Sprintf("k%02d", i), "v")
	}
	errStop := errors.New("stop")
	n := 0
	err := s.Scan([]byte("k"), func(k, v []byte) error {
		n++
		if n == 3 {
			return fmt.Errorf("wrapped: %w", errStop)
		}
		return nil
	})
	if !errors.Is(err, errStop) || n != 3 {
		t.Fatalf("Scan stopped after %d calls with %v, want 3 calls and errStop", n, err)
	}
	// Same inside transactions.
	for name, run := range map[string]func(func(store.Reader) error) error{
		"View":   s.View,
		"Update": func(fn func(store.Reader) error) error { return s.Update(func(tx store.Txn) error { return fn(tx) }) },
	} {
		n = 0
		err := run(func(r store.Reader) error {
			return r.Scan([]byte("k"), func(k, v []byte) error {
				n++
				if n == 2 {
					return errStop
				}
				return nil
			})
		})
		if !errors.Is(err, errStop) || n != 2 {
			t.Errorf("%s: Scan stopped after %d calls with %v, want 2 calls and errStop", name, n, err)
		}
	}
}

func testUpdateAtomic(t *testing.T, open Opener) {
	s := openNew(t, open)
	mustSet(t, s, "keep", "old")
	mustSet(t, s, "gone", "old")
	errFail := errors.New("fail")
	err := s.Update(func(tx store.Txn) error {
		for _, op := range []error{
			tx.Set([]byte("new1"), []byte("x")),
			tx.Set([]byte("keep"), []byte("new")),
			tx.Delete([]byte("gone")),
			tx.Set([]byte("new2"), []byte("y")),
		} {
			if op != nil {
				return op
			}
		}
		return errFail
	})
	if !errors.Is(err, errFail) {
		t.Fatalf("Update = %v, want errFail", err)
	}
	wantMissing(t, s, "new1")
	wantMissing(t, s, "new2")
	wantGet(t, s, "keep", "old")
	wantGet(t, s, "gone", "old")

	// A panic in fn applies nothing either and does not wedge the store.
	func() {
		defer func() { recover() }()
		s.Update(func(tx store.Txn) error {
			tx.Set([]byte("panic"), []byte("x"))
			panic("boom")
		})
	}()
	wantMissing(t, s, "panic")

	// A successful Update applies everything.
	err = s.Update(func(tx store.Txn) error {
		if err := tx.Set([]byte("new1"), []byte("x")); err != nil {
			return err
		}
		return tx.Delete([]byte("gone"))
	})
	if err != nil {
		t.Fatal(err)
	}
	wantGet(t, s, "new1", "x")
	wantMissing(t, s, "gone")
}

func testUpdateReadsOwnWrites(t *testing.T, open Opener) {
	s := openNew(t, open)
	mustSet(t, s, "p/a", "1")
	mustSet(t, s, "p/b", "2")
	mustSet(t, s, "p/c", "3")
	err := s.Update(func(tx store.Txn) error {
		if err := tx.Set([]byte("p/bb"), []byte("new")); err != nil {
			return err
		}
		if err := tx.Delete([]byte("p/c")); err != nil {
			return err
		}
		if err := tx.Set([]byte("p/a"), []byte("9")); err != nil {
			return err
		}
		wantGet(t, tx, "p/bb", "new")
		wantGet(t, tx, "p/a", "9")
		wantMissing(t, tx, "p/c")
		if got, want := scanKeys(t, tx, "p/"), []string{"p/a", "p/b", "p/bb"}; !slices.Equal(got, want) {
			t.Errorf("Scan in Update = %q, want %q", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := scanKeys(t, s, "p/"), []string{"p/a", "p/b", "p/bb"}; !slices.Equal(got, want) {
		t.Errorf("Scan after Update = %q, want %q", got, want)
	}
}

// testUpdateScanDelete deletes and rewrites keys from inside a Scan
// callback of the same transaction: every key must be visited once.
func testUpdateScanDelete(t *testing.T, open Opener) {
	s := openNew(t, open)
	const n = 500
	err := s.Update(func(tx store.Txn) error {
		for i := range n {
			if err := tx.Set(fmt.Appendf(nil, "d/%04d", i), []byte("v")); err != nil {
				return err
			}
		}
		return tx.Set([]byte("e"), []byte("keep"))
	})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	err = s.Update(func(tx store.Txn) error {
		return tx.Scan([]byte("d/"), func(k, v []byte) error {
			seen = append(seen, string(k))
			i := len(seen) - 1
			if i%2 == 0 {
				return tx.Delete(k)
			}
			return tx.Set(k, []byte("rewritten"))
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != n || !slices.IsSorted(seen) || len(slices.Compact(slices.Clone(seen))) != n {
		t.Fatalf("Scan with writes visited %d keys (sorted %v), want %d distinct in order", len(seen), slices.IsSorted(seen), n)
	}
	got := 0
	s.Scan([]byte("d/"), func(k, v []byte) error {
		got++
		if string(v) != "rewritten" {
			t.Errorf("%q = %q, want rewritten", k, v)
		}
		return nil
	})
	if got != n/2 {
		t.Errorf("keys left = %d, want %d", got, n/2)
	}
	wantGet(t, s, "e", "keep")
}

func testUpdateMinTxnKeys(t *testing.T, open Opener) {
	s := openNew(t, open)
	val := bytes.Repeat([]byte{'v'}, 64)
	err := s.Update(func(tx store.Txn) error {
		for i := range store.MinTxnKeys {
			if err := tx.Set(fmt.Appendf(nil, "big/%08d", i), val); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update with %d keys = %v", store.MinTxnKeys, err)
	}
	if got := len(scanKeys(t, s, "big/")); got != store.MinTxnKeys {
		t.Fatalf("keys = %d, want %d", got, store.MinTxnKeys)
	}
}

func testView(t *testing.T, open Opener) {
	s := openNew(t, open)
	mustSet(t, s, "k", "v1")
	mustSet(t, s, "other", "o")
	var wg sync.WaitGroup
	err := s.View(func(r store.Reader) error {
		wantGet(t, r, "k", "v1")
		done := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done)
			if err := s.Set([]byte("k"), []byte("v2")); err != nil {
				t.Errorf("Set during View = %v", err)
			}
			if err := s.Delete([]byte("other")); err != nil {
				t.Errorf("Delete during View = %v", err)
			}
		}()
		// A backend may let the writer finish (MVCC) or block it until the
		// View ends; either way the View must not see its change.
		select {
		case <-done:
		case <-time.After(100 * time.Millisecond):
		}
		wantGet(t, r, "k", "v1")
		wantGet(t, r, "other", "o")
		if got := scanKeys(t, r, ""); !slices.Equal(got, []string{"k", "other"}) {
			t.Errorf("Scan in View = %q, want [k other]", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	wantGet(t, s, "k", "v2")
	wantMissing(t, s, "other")

	errView := errors.New("view")
	if err := s.View(func(store.Reader) error { return errView }); !errors.Is(err, errView) {
		t.Errorf("View = %v, want its callback's error", err)
	}
}

func testConcurrent(t *testing.T, open Opener) {
	s := openNew(t, open)
	const writers, perWriter = 8, 100
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				k := fmt.Appendf(nil, "w/%d/%03d", w, i)
				if err := s.Set(k, k); err != nil {
					t.Errorf("Set(%s) = %v", k, err)
					return
				}
				// Read-modify-write: Update must be serializable.
				err := s.Update(func(tx store.Txn) error {
					n := 0
					if v, err := tx.Get([]byte("counter")); err == nil {
						fmt.Sscan(string(v), &n)
					} else if !errors.Is(err, store.ErrNotFound) {
						return err
					}
					return tx.Set([]byte("counter"), fmt.Append(nil, n+1))
				})
				if err != nil {
					t.Errorf("Update = %v", err)
					return
				}
				if i%10 == 0 {
					got, err := s.Get(k)
					if err != nil || !bytes.Equal(got, k) {
						t.Errorf("Get(%s) = %q, %v", k, got, err)
					}
					prev := ""
					s.Scan([]byte("w/"), func(k, v []byte) error {
						if string(k) <= prev {
							t.Errorf("Scan out of order: %q after %q", k, prev)
						}
						prev = string(k)
						return nil
					})
				}
			}
		}()
	}
	wg.Wait()
	if got := len(scanKeys(t, s, "w/")); got != writers*perWriter {
		t.Errorf("keys = %d, want %d", got, writers*perWriter)
	}
	wantGet(t, s, "counter", fmt.Sprint(writers*perWriter))
}

func testLargeValues(t *testing.T, open Opener) {
	dir := t.TempDir()
	s := open(t, dir)
	t.Cleanup(func() { s.Close() })
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	const n = 5
	for i := range n {
		v := append([]byte{byte(i)}, big...)
		if err := s.Set(fmt.Appendf(nil, "big/%d", i), v); err != nil {
			t.Fatalf("Set(1 MiB) = %v", err)
		}
	}
	check := func(s store.Store) {
		t.Helper()
		for i := range n {
			got, err := s.Get(fmt.Appendf(nil, "big/%d", i))
			if err != nil || len(got) != len(big)+1 || got[0] != byte(i) || !bytes.Equal(got[1:], big) {
				t.Fatalf("Get(big/%d) = %d bytes, %v; want the 1 MiB value", i, len(got), err)
			}
		}
		i := 0
		err := s.Scan([]byte("big/"), func(k, v []byte) error {
			if len(v) != len(big)+1 || v[0] != byte(i) {
				return fmt.Errorf("scan value %d: %d bytes", i, len(v))
			}
			i++
			return nil
		})
		if err != nil || i != n {
			t.Fatalf("Scan(big/) = %d values, %v", i, err)
		}
	}
	check(s)
	s = reopen(t, open, s, dir)
	check(s)
	// Overwrite with a small value and delete one.
	mustSet(t, s, "big/0", "small")
	if err := s.Delete([]byte("big/1")); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, open, s, dir)
	wantGet(t, s, "big/0", "small")
	wantMissing(t, s, "big/1")
}

func testManyKeysReopen(t *testing.T, open Opener) {
	dir := t.TempDir()
	s := open(t, dir)
	t.Cleanup(func() { s.Close() })
	const n, batch = 20000, 1000
	val := func(i int) []byte { return fmt.Appendf(nil, "value-%d-%s", i, bytes.Repeat([]byte{'x'}, i%200)) }
	for b := 0; b < n; b += batch {
		err := s.Update(func(tx store.Txn) error {
			for i := b; i < b+batch; i++ {
				if err := tx.Set(fmt.Appendf(nil, "m/%08d", i), val(i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Update batch %d = %v", b, err)
		}
	}
	// Delete every 7th.
	err := s.Update(func(tx store.Txn) error {
		for i := 0; i < n; i += 7 {
			if err := tx.Delete(fmt.Appendf(nil, "m/%08d", i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(s store.Store) {
		t.Helper()
		next, count := 0, 0
		err := s.Scan([]byte("m/"), func(k, v []byte) error {
			if next%7 == 0 {
				next++
			}
			if want := fmt.Sprintf("m/%08d", next); string(k) != want {
				return fmt.Errorf("key %q, want %q", k, want)
			}
			if !bytes.Equal(v, val(next)) {
				return fmt.Errorf("value of %q = %q", k, v)
			}
			next++
			count++
			return nil
		})
		if want := n - (n+6)/7; err != nil || count != want {
			t.Fatalf("Scan = %d keys, %v; want %d", count, err, want)
		}
		wantMissing(t, s, "m/00000007")
		wantGet(t, s, "m/00012345", string(val(12345)))
	}
	check(s)
	s = reopen(t, open, s, dir)
	check(s)
}

func testReopen(t *testing.T, open Opener) {
	dir := t.TempDir()
	s := open(t, dir)
	t.Cleanup(func() { s.Close() })
	mustSet(t, s, "a", "1")
	mustSet(t, s, "b", "2")
	mustSet(t, s, "empty", "")
	if err := s.Delete([]byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(tx store.Txn) error { return tx.Set([]byte("c"), []byte("3")) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	backend := s.Backend()
	s = reopen(t, open, s, dir)
	if s.Backend() != backend {
		t.Errorf("Backend() after reopen = %q, want %q", s.Backend(), backend)
	}
	wantGet(t, s, "a", "1")
	wantMissing(t, s, "b")
	wantGet(t, s, "c", "3")
	wantGet(t, s, "empty", "")
}

func testClosed(t *testing.T, open Opener) {
	s := open(t, t.TempDir())
	mustSet(t, s, "a", "1")
	if err := s.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	checks := map[string]error{}
	_, checks["Get"] = s.Get([]byte("a"))
	checks["Set"] = s.Set([]byte("a"), []byte("2"))
	checks["Delete"] = s.Delete([]byte("a"))
	checks["Scan"] = s.Scan(nil, func(k, v []byte) error { return nil })
	checks["Update"] = s.Update(func(store.Txn) error { return nil })
	checks["View"] = s.View(func(store.Reader) error { return nil })
	checks["Sync"] = s.Sync()
	for name, err := range checks {
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}
