package engine

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/hearth-media/hearth/config"
)

func TestStoreReserve(t *testing.T) {
	for _, tc := range []struct {
		backend   string
		mem, vlog int
		want      int64
	}{
		{"badger", 4, 16, (16 + 4 + 32) << 20},
		{"badger", 0, 0, (16 + 4 + 32) << 20},
		{"badger", 2, 8, (8 + 2 + 16) << 20},
		{"bbolt", 4, 16, 8 << 20},
		{"memory", 4, 16, 0},
	} {
		if got := storeReserve(tc.backend, config.Store{MemTableMiB: tc.mem, ValueLogMiB: tc.vlog}); got != tc.want {
			t.Errorf("storeReserve(%s, %d, %d) = %d, want %d", tc.backend, tc.mem, tc.vlog, got, tc.want)
		}
	}
}

func TestStoreGuard(t *testing.T) {
	dir := t.TempDir()
	g := newStoreGuard(dir, "bbolt", config.Store{}, nil)
	if g == nil {
		t.Fatal("newStoreGuard on a temp dir = nil, want a guard")
	}
	// A folder that does not exist yet, on the same file system.
	d := g.forDir(filepath.Join(dir, "downloads", "not", "yet"))
	if d == nil {
		t.Fatal("forDir(a new folder under the data dir) = nil, want a check")
	}
	free, err := freeSpace(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Other processes write too: leave them 64 MiB of slack either way.
	g.reserve = free - 128<<20
	if err := d.check(16 << 10); err != nil {
		t.Errorf("check(16 KiB) with 128 MiB above the reserve = %v, want nil", err)
	}
	if err := d.check(256 << 20); !errors.Is(err, syscall.ENOSPC) || !isNoSpace(err) {
		t.Errorf("check(256 MiB) with 128 MiB above the reserve = %v, want ENOSPC", err)
	}
	if err := (*dirGuard)(nil).check(1 << 30); err != nil {
		t.Errorf("nil check = %v, want nil", err)
	}
	if got := g.on("/proc"); got != 0 {
		t.Errorf("reserve on /proc = %d, want 0 (another file system)", got)
	}
	if g := newStoreGuard("", "badger", config.Store{}, nil); g != nil {
		t.Errorf("newStoreGuard without a data dir = %+v, want nil", g)
	}
	if _, ok := fsID(filepath.Join(dir, "a", "b")); !ok {
		t.Error("fsID of a path under an existing folder: not found")
	}
}
