package store_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine/store"
	"github.com/hearth-media/hearth/engine/store/storetest"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	os.Exit(m.Run())
}

func opener(backend string) storetest.Opener {
	return func(t *testing.T, dir string) store.Store {
		t.Helper()
		s, err := store.Open(store.Options{Dir: dir, Backend: backend})
		if err != nil {
			t.Fatalf("Open(%s, %s) = %v", dir, backend, err)
		}
		return s
	}
}

func TestConformance(t *testing.T) {
	for _, b := range store.Backends() {
		t.Run(b, func(t *testing.T) { storetest.Run(t, opener(b)) })
	}
}

func is64bit() bool { return ^uint(0)>>32 != 0 }

func TestBackends(t *testing.T) {
	wantDefault, want := store.BackendBbolt, []string{"bbolt", "memory"}
	if is64bit() {
		wantDefault, want = store.BackendBadger, []string{"badger", "bbolt", "memory"}
	}
	if got := store.DefaultBackend(); got != wantDefault {
		t.Errorf("DefaultBackend() = %q, want %q (GOARCH=%s)", got, wantDefault, runtime.GOARCH)
	}
	if got := store.Backends(); !slices.Equal(got, want) {
		t.Errorf("Backends() = %q, want %q", got, want)
	}
	s, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Backend() != wantDefault {
		t.Errorf("Open(auto).Backend() = %q, want %q", s.Backend(), wantDefault)
	}
}

func TestBadgerOn32Bit(t *testing.T) {
	if is64bit() {
		t.Skip("64-bit build links badger")
	}
	_, err := store.Open(store.Options{Dir: t.TempDir(), Backend: "badger"})
	want := fmt.Sprintf("store: badger is not supported on 32-bit CPUs (GOARCH=%s); use bbolt", runtime.GOARCH)
	if err == nil || err.Error() != want || !errors.Is(err, store.ErrUnsupported) {
		t.Fatalf("Open(badger) = %v, want %q (ErrUnsupported)", err, want)
	}
	// A directory that already holds a badger store must not silently
	// become an empty bbolt store under auto.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "MANIFEST"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Open(store.Options{Dir: dir}); !errors.Is(err, store.ErrUnsupported) {
		t.Fatalf("Open(auto) on badger files = %v, want ErrUnsupported", err)
	}
}

func TestAutoDetect(t *testing.T) {
	for _, b := range store.Backends() {
		if b == store.BackendMemory {
			continue
		}
		t.Run(b, func(t *testing.T) {
			dir := t.TempDir()
			s, err := store.Open(store.Options{Dir: dir, Backend: b})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Set([]byte("k"), []byte("v")); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s, err = store.Open(store.Options{Dir: dir, Backend: "auto"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Backend() != b {
				t.Errorf("Open(auto) of a %s store: Backend() = %q", b, s.Backend())
			}
			if v, err := s.Get([]byte("k")); err != nil || string(v) != "v" {
				t.Errorf("Get(k) = %q, %v; want v", v, err)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	_, err := store.Open(store.Options{Dir: t.TempDir(), Backend: "leveldb"})
	if !errors.Is(err, store.ErrUnknownBackend) || !strings.Contains(err.Error(), "leveldb") {
		t.Errorf("Open(leveldb) = %v, want ErrUnknownBackend naming it", err)
	}
	if _, err := store.Open(store.Options{Backend: "bbolt"}); err == nil {
		t.Errorf("Open without Dir = nil error")
	}
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := store.Open(store.Options{Dir: file, Backend: "bbolt"}); err == nil {
		t.Errorf("Open(Dir is a file) = nil error")
	}
}

func TestOpenLockedInProcess(t *testing.T) {
	for _, b := range store.Backends() {
		if b == store.BackendMemory {
			continue
		}
		t.Run(b, func(t *testing.T) {
			dir := t.TempDir()
			s, err := store.Open(store.Options{Dir: dir, Backend: b})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s2, err := store.Open(store.Options{Dir: dir, Backend: b})
			if !errors.Is(err, store.ErrLocked) {
				if s2 != nil {
					s2.Close()
				}
				t.Fatalf("second Open = %v, want ErrLocked", err)
			}
			t.Logf("second Open = %v", err)
		})
	}
}

func TestOpenCorrupt(t *testing.T) {
	garbage := make([]byte, 64<<10)
	for i := range garbage {
		garbage[i] = byte(i*31 + i>>8)
	}
	tests := []struct {
		name    string
		backend string
		file    string
		data    []byte
	}{
		{"bbolt-garbage", "bbolt", "state.db", garbage},
		{"bbolt-short", "bbolt", "state.db", []byte("not a database")},
		{"bbolt-zeros", "bbolt", "state.db", make([]byte, 32<<10)},
		{"badger-manifest", "badger", "MANIFEST", garbage[:100]},
	}
	for _, tt := range tests {
		if !slices.Contains(store.Backends(), tt.backend) {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tt.file), tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := store.Open(store.Options{Dir: dir, Backend: tt.backend})
			if !errors.Is(err, store.ErrCorrupt) {
				if s != nil {
					s.Close()
				}
				t.Fatalf("Open(%s) = %v, want ErrCorrupt", tt.name, err)
			}
			if !strings.Contains(err.Error(), dir) {
				t.Errorf("error %q does not name the directory", err)
			}
			t.Logf("Open = %v", err)
		})
	}
}

// TestCloseStopsGoroutines checks that Close leaves no goroutine behind
// (Badger's value log GC loop in particular).
func TestCloseStopsGoroutines(t *testing.T) {
	for _, b := range store.Backends() {
		t.Run(b, func(t *testing.T) {
			before := runtime.NumGoroutine()
			s, err := store.Open(store.Options{Dir: t.TempDir(), Backend: b})
			if err != nil {
				t.Fatal(err)
			}
			s.Set([]byte("k"), []byte("v"))
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if n := runtime.NumGoroutine(); n > before {
				buf := make([]byte, 1<<16)
				t.Fatalf("goroutines after Close = %d, before Open %d\n%s", n, before, buf[:runtime.Stack(buf, true)])
			}
		})
	}
}

// TestTxnTooBig checks Badger's transaction limit surfaces as ErrTxnTooBig
// and grows with MemTableMiB.
func TestTxnTooBig(t *testing.T) {
	if !slices.Contains(store.Backends(), store.BackendBadger) {
		t.Skip("no badger in this build")
	}
	update := func(s store.Store, n int) error {
		return s.Update(func(tx store.Txn) error {
			for i := range n {
				if err := tx.Set(fmt.Appendf(nil, "k%08d", i), []byte("v")); err != nil {
					return err
				}
			}
			return nil
		})
	}
	const n = 50_000
	s, err := store.Open(store.Options{Dir: t.TempDir(), Backend: "badger"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := update(s, n); !errors.Is(err, store.ErrTxnTooBig) {
		t.Fatalf("Update of %d keys with default options = %v, want ErrTxnTooBig", n, err)
	}
	if _, err := s.Get([]byte("k00000000")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("failed Update left a key behind: %v", err)
	}
	big, err := store.Open(store.Options{Dir: t.TempDir(), Backend: "badger", MemTableMiB: 64, ValueLogMiB: 32, BlockCacheMiB: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	if err := update(big, n); err != nil {
		t.Fatalf("Update of %d keys with MemTableMiB 64 = %v", n, err)
	}
}
