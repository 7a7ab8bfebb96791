package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, data := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o640); err != nil {
			t.Fatal(err)
		}
	}
}

func checkTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, want := range files {
		got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p)))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", p, got, err, want)
		}
	}
}

// crossDevice makes rename fail as it does between file systems, so the
// copy path runs for real; fail, when set, fails the rename of that name
// with another error.
func crossDevice(t *testing.T, fail string) {
	t.Helper()
	rename = func(src, dst string) error {
		if fail != "" && filepath.Base(src) == fail {
			return &os.LinkError{Op: "rename", Old: src, New: dst, Err: syscall.EACCES}
		}
		if _, err := os.Stat(dst); err == nil {
			return os.Rename(src, dst) // undo of an earlier rename
		}
		return &os.LinkError{Op: "rename", Old: src, New: dst, Err: syscall.EXDEV}
	}
	t.Cleanup(func() { rename = os.Rename })
}

func TestMoveDataAcrossFileSystems(t *testing.T) {
	files := map[string]string{"album/a.flac": "aaa", "album/cd2/b.flac": "bbbb", "album/notes.txt": "user file"}
	from, to := t.TempDir(), filepath.Join(t.TempDir(), "dest")
	writeTree(t, from, files)
	writeTree(t, from, map[string]string{"single.iso": "iso"})
	crossDevice(t, "")
	if err := moveData(context.Background(), from, to, []string{"album", "single.iso", "missing"}); err != nil {
		t.Fatalf("moveData: %v", err)
	}
	checkTree(t, to, files)
	checkTree(t, to, map[string]string{"single.iso": "iso"})
	if fi, err := os.Stat(filepath.Join(to, "album", "a.flac")); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("copied file mode = %v (err %v), want 0640", fi.Mode().Perm(), err)
	}
	for _, p := range []string{"album", "single.iso"} {
		if _, err := os.Lstat(filepath.Join(from, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("source %s still there after a copy move (err %v)", p, err)
		}
	}
}

func TestMoveDataFailurePutsBack(t *testing.T) {
	files := map[string]string{"a/x": "1", "b/y": "2"}
	from, to := t.TempDir(), t.TempDir()
	writeTree(t, from, files)
	// "a" is copied, then "b" fails: the copy of "a" must go, sources stay.
	crossDevice(t, "b")
	if err := moveData(context.Background(), from, to, []string{"a", "b"}); err == nil {
		t.Fatal("moveData succeeded with a failing rename")
	}
	checkTree(t, from, files)
	if entries, _ := os.ReadDir(to); len(entries) != 0 {
		t.Errorf("destination keeps %d entries after a failed move, want none", len(entries))
	}

	// An existing destination item stops the move before anything moves.
	rename = os.Rename
	writeTree(t, to, map[string]string{"b/other": "theirs"})
	if err := moveData(context.Background(), from, to, []string{"a", "b"}); err == nil {
		t.Fatal("moveData overwrote an existing folder")
	}
	checkTree(t, from, files)
	checkTree(t, to, map[string]string{"b/other": "theirs"})

	// A cancelled copy leaves no partial copy behind.
	os.RemoveAll(filepath.Join(to, "b"))
	crossDevice(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := moveData(ctx, from, to, []string{"a"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("moveData with a cancelled context = %v, want context.Canceled", err)
	}
	checkTree(t, from, files)
	if _, err := os.Lstat(filepath.Join(to, "a")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("partial copy left behind (err %v)", err)
	}
}

func TestAltWindow(t *testing.T) {
	at := func(d, h, m int) time.Time { return time.Date(2024, 1, d, h, m, 0, 0, time.Local) } // 2024-01-01 is a Monday
	const all, weekdays, weekend, mon = 0x7f, 0x3e, 0x41, 0x02
	tests := []struct {
		begin, end, days int
		now              time.Time
		in               bool
		boundary         time.Time
	}{
		{540, 1020, all, at(1, 8, 59), false, at(0, 17, 0)}, // Sunday Dec 31, 17:00
		{540, 1020, all, at(1, 9, 0), true, at(1, 9, 0)},
		{540, 1020, all, at(1, 16, 59), true, at(1, 9, 0)},
		{540, 1020, all, at(1, 17, 0), false, at(1, 17, 0)},
		{540, 1020, weekdays, at(6, 10, 0), false, at(5, 17, 0)}, // Saturday
		{540, 1020, weekend, at(6, 10, 0), true, at(6, 9, 0)},
		// Across midnight: 22:00-06:00 on Mondays covers Tuesday morning.
		{1320, 360, mon, at(1, 23, 0), true, at(1, 22, 0)},
		{1320, 360, mon, at(2, 5, 59), true, at(1, 22, 0)},
		{1320, 360, mon, at(2, 6, 0), false, at(2, 6, 0)},
		{1320, 360, mon, at(1, 21, 0), false, at(-5, 6, 0)}, // the Tuesday before, 06:00
		// Begin == end: the whole day from begin.
		{600, 600, mon, at(2, 9, 59), true, at(1, 10, 0)},
		{600, 600, mon, at(2, 10, 0), false, at(2, 10, 0)},
	}
	for _, tc := range tests {
		if got := inAltWindow(tc.begin, tc.end, tc.days, tc.now); got != tc.in {
			t.Errorf("inAltWindow(%d, %d, %#x, %s) = %v, want %v", tc.begin, tc.end, tc.days, tc.now.Format("Mon 15:04"), got, tc.in)
		}
		if got := lastAltBoundary(tc.begin, tc.end, tc.days, tc.now); !got.Equal(tc.boundary) {
			t.Errorf("lastAltBoundary(%d, %d, %#x, %s) = %s, want %s", tc.begin, tc.end, tc.days, tc.now.Format("Mon 15:04"), got.Format("Mon Jan 2 15:04"), tc.boundary.Format("Mon Jan 2 15:04"))
		}
	}
}
