package engine

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/hearth-media/hearth/config"
)

// A download that fills the disk stops with a disk-full error (setError)
// and resumes when there is room again (retryDiskFull). When the disk is
// also the store's, that is not enough: Badger writes its tables and
// memtables through memory maps of sparse files, and on a full file system
// a write to a mapped page is a SIGBUS that kills the daemon (at the next
// memtable flush, at shutdown) — and on tmpfs again at every start while
// the disk stays full (measured in cmd/hearth TestReliabilityDiskFull).
// So downloads into the store's file system keep a reserve free for it:
// a write that would leave less stops the torrent as disk full, and it
// resumes only when its rest and the reserve fit. bbolt writes with
// pwrite and gets ENOSPC back, but its file still has to grow: it keeps a
// smaller reserve.

// storeGuard watches the free space of the store's file system. Its
// methods take a nil receiver (no data dir: no guard) and are safe for
// concurrent use.
type storeGuard struct {
	dir     string // the data dir, which holds the store
	dev     uint64 // its file system
	reserve int64  // bytes downloads leave free there

	mu   sync.Mutex
	free int64     // free bytes at the last statfs, less the writes since
	at   time.Time // time of the last statfs
}

// Cached free space is refreshed at least this often, and on every write
// that comes within guardRecheck of the reserve.
const (
	guardRefresh = time.Second
	guardRecheck = 8 << 20
)

// storeReserve is the space the store needs to keep working on a file
// system that downloads could fill: for Badger, two memtable files (each
// mapped at twice the memtable size), a flushed table and a value-log
// file (mapped at twice its size); for bbolt room to grow its file.
func storeReserve(backend string, c config.Store) int64 {
	const mib = 1 << 20
	switch backend {
	case "badger":
		mem, vlog := int64(c.MemTableMiB), int64(c.ValueLogMiB)
		if mem <= 0 {
			mem = 4
		}
		if vlog <= 0 {
			vlog = 16
		}
		return (2*2*mem + mem + 2*vlog) * mib
	case "bbolt":
		return 8 * mib
	}
	return 0 // in memory: nothing on disk
}

// newStoreGuard returns the guard of the store in dataDir, or nil when
// there is none to keep (no data dir, a store in memory, a file system it
// cannot identify).
func newStoreGuard(dataDir, backend string, c config.Store, log *slog.Logger) *storeGuard {
	reserve := storeReserve(backend, c)
	if dataDir == "" || reserve == 0 {
		return nil
	}
	dev, ok := fsID(dataDir)
	if !ok {
		log.Warn("cannot identify the store's file system; downloads may fill it", "dir", dataDir)
		return nil
	}
	return &storeGuard{dir: dataDir, dev: dev, reserve: reserve}
}

// on returns the reserve when dir is on the store's file system, else 0.
func (g *storeGuard) on(dir string) int64 {
	if g == nil {
		return 0
	}
	if dev, ok := fsID(dir); !ok || dev != g.dev {
		return 0
	}
	return g.reserve
}

// forDir returns the write check for a torrent stored in dir: nil (no
// check) when dir is on another file system.
func (g *storeGuard) forDir(dir string) *dirGuard {
	if g.on(dir) == 0 {
		return nil
	}
	return &dirGuard{g: g, dir: dir}
}

// dirGuard checks a torrent's writes against its store's reserve.
type dirGuard struct {
	g   *storeGuard
	dir string
}

// check is called before a write of n bytes; it returns an error that
// wraps ENOSPC (so the torrent stops as disk full) when the write would
// leave less than the reserve free.
func (d *dirGuard) check(n int) error {
	if d == nil {
		return nil
	}
	g := d.g
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	if now.Sub(g.at) >= guardRefresh || g.free-int64(n) < g.reserve+guardRecheck {
		free, err := freeSpace(g.dir)
		if err != nil {
			return nil // cannot tell: the write itself will say
		}
		g.free, g.at = free, now
	}
	if g.free-int64(n) < g.reserve {
		return fmt.Errorf("write in %s: %d MiB must stay free for the store: %w", d.dir, g.reserve>>20, syscall.ENOSPC)
	}
	g.free -= int64(n)
	return nil
}

// fsIDOf returns the device of path's nearest existing folder.
func fsIDOf(path string, stat func(string) (uint64, error)) (uint64, bool) {
	for p := filepath.Clean(path); ; p = filepath.Dir(p) {
		dev, err := stat(p)
		if err == nil {
			return dev, true
		}
		if !os.IsNotExist(err) || p == filepath.Dir(p) {
			return 0, false
		}
	}
}
