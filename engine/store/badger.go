//go:build amd64 || arm64 || ppc64 || ppc64le || riscv64 || s390x || loong64 || mips64 || mips64le

package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// Badger is linked only on 64-bit CPUs: on 32-bit ones it corrupts and
// loses data (shared field notes).
const badgerCompiled = true

// Badger writes without fsync (SyncWrites false): its write-ahead log and
// value log are memory-mapped files, so a returned write is in the kernel's
// page cache and survives kill -9; Sync flushes them for a power cut.
// Options are tuned for a 64 MB device (shared field notes).

// badgerGCInterval is how often the value log is garbage collected.
const badgerGCInterval = 10 * time.Minute

type badgerStore struct {
	db  *badger.DB
	dir string

	// life is read-held by every operation and write-held by Close, so no
	// operation runs on a closed DB (Badger panics in some of them).
	life   sync.RWMutex
	closed bool
	// wmu serializes writes. Badger runs without conflict detection, so
	// this is what makes Update serializable.
	wmu sync.Mutex

	gcStop chan struct{}
	gcDone chan struct{}
	log    *slog.Logger
}

func badgerOptions(opts Options) badger.Options {
	mib := func(v, def int) int64 {
		if v <= 0 {
			v = def
		}
		return int64(v) << 20
	}
	return badger.DefaultOptions(opts.Dir).
		WithLogger(badgerLogger{opts.Logger}).
		WithLoggingLevel(badger.WARNING).
		WithSyncWrites(false).
		WithMemTableSize(mib(opts.MemTableMiB, 4)).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(4).
		WithBaseTableSize(1 << 20).
		WithBaseLevelSize(4 << 20).
		WithValueLogFileSize(mib(opts.ValueLogMiB, 16)).
		WithValueThreshold(1 << 10).
		WithBlockCacheSize(int64(max(opts.BlockCacheMiB, 0)) << 20).
		WithCompression(options.None).
		WithIndexCacheSize(0).
		WithNumCompactors(2).
		WithNumGoroutines(1).
		WithMetricsEnabled(false).
		WithDetectConflicts(false)
}

func openBadger(opts Options) (Store, error) {
	db, err := badger.Open(badgerOptions(opts))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", opts.Dir, classifyBadgerOpen(err))
	}
	s := &badgerStore{
		db:     db,
		dir:    opts.Dir,
		gcStop: make(chan struct{}),
		gcDone: make(chan struct{}),
		log:    opts.Logger,
	}
	go s.gcLoop()
	return s, nil
}

func classifyBadgerOpen(err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Cannot acquire directory lock"):
		return fmt.Errorf("%w (badger: %v)", ErrLocked, err)
	case strings.Contains(msg, "bad magic"), strings.Contains(msg, "checksum mismatch"),
		strings.Contains(msg, "corrupt"), strings.Contains(msg, "truncat"),
		strings.Contains(msg, "EOF"):
		return fmt.Errorf("%w (badger: %v)", ErrCorrupt, err)
	}
	return err
}

func (s *badgerStore) gcLoop() {
	defer close(s.gcDone)
	t := time.NewTicker(badgerGCInterval)
	defer t.Stop()
	for {
		select {
		case <-s.gcStop:
			return
		case <-t.C:
		}
		// Each successful run rewrites one value log file; repeat while
		// there is garbage, but stop promptly on Close.
		for {
			select {
			case <-s.gcStop:
				return
			default:
			}
			err := s.db.RunValueLogGC(0.5)
			if err != nil {
				if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
					s.log.Warn("store value log gc", "err", err)
				}
				break
			}
		}
	}
}

func (s *badgerStore) Backend() string { return BackendBadger }

func (s *badgerStore) Get(key []byte) (val []byte, err error) {
	err = s.View(func(r Reader) error {
		val, err = r.Get(key)
		return err
	})
	return val, err
}

func (s *badgerStore) Scan(prefix []byte, fn func(key, val []byte) error) error {
	return s.View(func(r Reader) error { return r.Scan(prefix, fn) })
}

func (s *badgerStore) Set(key, val []byte) error {
	return s.Update(func(tx Txn) error { return tx.Set(key, val) })
}

func (s *badgerStore) Delete(key []byte) error {
	return s.Update(func(tx Txn) error { return tx.Delete(key) })
}

func (s *badgerStore) View(fn func(Reader) error) error {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.db.View(func(btx *badger.Txn) error {
		t := &badgerTxn{txn: btx}
		defer func() { t.done = true }()
		return fn(t)
	})
}

func (s *badgerStore) Update(fn func(Txn) error) error {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return ErrClosed
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var fnErr error
	err := s.db.Update(func(btx *badger.Txn) error {
		t := &badgerTxn{txn: btx, writable: true}
		defer func() { t.done = true }()
		fnErr = fn(t)
		return fnErr
	})
	if err != nil && fnErr == nil {
		return mapBadgerErr(err)
	}
	return err
}

func (s *badgerStore) Sync() error {
	s.life.RLock()
	defer s.life.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.db.Sync()
}

func (s *badgerStore) Close() error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	close(s.gcStop)
	<-s.gcDone
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", s.dir, err)
	}
	return nil
}

func mapBadgerErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, badger.ErrTxnTooBig):
		return fmt.Errorf("%w (badger: %v)", ErrTxnTooBig, err)
	case errors.Is(err, badger.ErrDBClosed):
		return ErrClosed
	}
	return err
}

type badgerTxn struct {
	txn      *badger.Txn
	writable bool
	done     bool
}

func (t *badgerTxn) Get(key []byte) ([]byte, error) {
	if t.done {
		return nil, errTxnDone
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	item, err := t.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, mapBadgerErr(err)
	}
	val, err := item.ValueCopy(nil)
	if err != nil {
		return nil, mapBadgerErr(err)
	}
	if val == nil {
		val = []byte{} // present but empty
	}
	return val, nil
}

func (t *badgerTxn) Scan(prefix []byte, fn func(key, val []byte) error) error {
	if t.done {
		return errTxnDone
	}
	io := badger.DefaultIteratorOptions
	io.PrefetchValues = false // values are read lazily, most are inline
	io.Prefix = prefix
	it := t.txn.NewIterator(io)
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		var fnErr error
		err := item.Value(func(val []byte) error {
			fnErr = fn(item.Key(), val)
			return fnErr
		})
		if fnErr != nil {
			return fnErr
		}
		if err != nil {
			return mapBadgerErr(err)
		}
	}
	return nil
}

func (t *badgerTxn) Set(key, val []byte) error {
	if t.done {
		return errTxnDone
	}
	if err := checkKey(key); err != nil {
		return err
	}
	// Badger keeps the slices until commit; the caller may reuse them.
	return mapBadgerErr(t.txn.Set(append([]byte{}, key...), append([]byte{}, val...)))
}

func (t *badgerTxn) Delete(key []byte) error {
	if t.done {
		return errTxnDone
	}
	if err := checkKey(key); err != nil {
		return err
	}
	return mapBadgerErr(t.txn.Delete(append([]byte{}, key...)))
}

// badgerLogger routes Badger's warnings and errors to slog and drops its
// chatty info and debug lines.
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, args ...any)   { b.log(slog.LevelError, f, args) }
func (b badgerLogger) Warningf(f string, args ...any) { b.log(slog.LevelWarn, f, args) }
func (badgerLogger) Infof(string, ...any)             {}
func (badgerLogger) Debugf(string, ...any)            {}

func (b badgerLogger) log(level slog.Level, f string, args []any) {
	if !b.l.Enabled(context.Background(), level) {
		return
	}
	b.l.Log(context.Background(), level, "badger", "detail", strings.TrimSpace(fmt.Sprintf(f, args...)))
}
