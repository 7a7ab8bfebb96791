package store

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
)

// bbolt keeps every key in one bucket of Dir/state.db. Every commit is
// fsynced (bbolt's default), so a returned write survives even a power cut
// and Sync has nothing left to do. Commits are therefore expensive (two
// fdatasyncs); Set, Delete and Batch share commits between concurrent
// callers (group commit) so many writers do not queue behind one fsync each.

var boltBucket = []byte("hearth")

// boltOpenTimeout bounds the wait for the file lock, so a second process
// gets ErrLocked instead of hanging.
const boltOpenTimeout = time.Second

type boltStore struct {
	db     *bbolt.DB
	closed atomic.Bool

	// Group commit state: calls queue while a commit runs; when it ends the
	// oldest waiting call becomes the next leader and commits the queue.
	bmu   sync.Mutex
	queue []*batchCall
	busy  bool
}

type batchCall struct {
	fn   func(Txn) error
	err  error
	wake chan bool // true: lead the next batch; false: err is set
}

func openBolt(opts Options) (s Store, err error) {
	path := filepath.Join(opts.Dir, boltFile)
	defer func() {
		// bbolt can panic on a damaged file instead of returning an error.
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("open store %s: %w: %v", path, ErrCorrupt, r)
		}
	}()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: boltOpenTimeout})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, classifyBoltOpen(err))
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(boltBucket)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return &boltStore{db: db}, nil
}

func classifyBoltOpen(err error) error {
	switch {
	case errors.Is(err, bbolt.ErrTimeout):
		return fmt.Errorf("%w (bbolt: %v)", ErrLocked, err)
	case errors.Is(err, bbolt.ErrInvalid), errors.Is(err, bbolt.ErrChecksum),
		errors.Is(err, bbolt.ErrVersionMismatch), strings.Contains(err.Error(), "file size too small"):
		return fmt.Errorf("%w (bbolt: %v)", ErrCorrupt, err)
	}
	return err
}

func (s *boltStore) Backend() string { return BackendBbolt }

// mapErr turns bbolt's errors into the package's.
func (s *boltStore) mapErr(err error) error {
	if errors.Is(err, bbolt.ErrDatabaseNotOpen) || (err != nil && s.closed.Load()) {
		return ErrClosed
	}
	return err
}

func (s *boltStore) Get(key []byte) (val []byte, err error) {
	err = s.View(func(r Reader) error {
		val, err = r.Get(key)
		return err
	})
	return val, err
}

func (s *boltStore) Scan(prefix []byte, fn func(key, val []byte) error) error {
	return s.View(func(r Reader) error { return r.Scan(prefix, fn) })
}

func (s *boltStore) Set(key, val []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return s.Batch(func(tx Txn) error { return tx.Set(key, val) })
}

func (s *boltStore) Delete(key []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return s.Batch(func(tx Txn) error { return tx.Delete(key) })
}

func (s *boltStore) View(fn func(Reader) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	var fnErr error
	err := s.db.View(func(btx *bbolt.Tx) error {
		t := &boltTxn{b: btx.Bucket(boltBucket)}
		defer func() { t.done = true }()
		fnErr = fn(t)
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	return s.mapErr(err)
}

func (s *boltStore) Update(fn func(Txn) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	var fnErr error
	err := s.db.Update(func(btx *bbolt.Tx) error {
		t := &boltTxn{b: btx.Bucket(boltBucket), writable: true}
		defer func() { t.done = true }()
		fnErr = fn(t)
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	return s.mapErr(err)
}

// Batch implements Batcher with group commit: the first caller commits at
// once; callers that arrive meanwhile share the next commit. No caller waits
// for a timer, and a lone writer pays one commit as with Update.
func (s *boltStore) Batch(fn func(Txn) error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	c := &batchCall{fn: fn, wake: make(chan bool, 1)}
	s.bmu.Lock()
	s.queue = append(s.queue, c)
	if s.busy {
		s.bmu.Unlock()
		if lead := <-c.wake; !lead {
			return c.err
		}
		s.bmu.Lock()
	}
	s.busy = true
	calls := s.queue
	s.queue = nil
	s.bmu.Unlock()

	s.runBatch(calls)

	s.bmu.Lock()
	if len(s.queue) > 0 {
		s.queue[0].wake <- true
	} else {
		s.busy = false
	}
	s.bmu.Unlock()
	for _, o := range calls {
		if o != c {
			o.wake <- false
		}
	}
	return c.err
}

// runBatch commits calls in one transaction. If any of them fails, the
// whole transaction is rolled back and each call runs on its own, so a
// call's error is its own and a failed call changes nothing.
func (s *boltStore) runBatch(calls []*batchCall) {
	if len(calls) > 1 {
		failed := false
		err := s.Update(func(tx Txn) error {
			for _, c := range calls {
				if err := c.fn(tx); err != nil {
					failed = true
					return err
				}
			}
			return nil
		})
		if err == nil || !failed && errors.Is(err, ErrClosed) {
			for _, c := range calls {
				c.err = err
			}
			return
		}
	}
	for _, c := range calls {
		c.err = s.Update(c.fn)
	}
}

func (s *boltStore) Sync() error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.mapErr(s.db.Sync())
}

func (s *boltStore) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", s.db.Path(), err)
	}
	return nil
}

type boltTxn struct {
	b        *bbolt.Bucket
	writable bool
	done     bool
	writes   int // changes so far; a Scan re-seeks when its callback wrote
}

func (t *boltTxn) Get(key []byte) ([]byte, error) {
	if t.done {
		return nil, errTxnDone
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	// A cursor tells an empty value from a missing key reliably.
	k, v := t.b.Cursor().Seek(key)
	if k == nil || !bytes.Equal(k, key) {
		return nil, ErrNotFound
	}
	return append([]byte{}, v...), nil
}

func (t *boltTxn) Scan(prefix []byte, fn func(key, val []byte) error) error {
	if t.done {
		return errTxnDone
	}
	c := t.b.Cursor()
	var k, v []byte
	if len(prefix) == 0 {
		k, v = c.First()
	} else {
		k, v = c.Seek(prefix)
	}
	var last []byte
	for k != nil && bytes.HasPrefix(k, prefix) {
		n := t.writes
		if t.writable {
			last = append(last[:0], k...)
		}
		if err := fn(k, v); err != nil {
			return err
		}
		if t.writes == n {
			k, v = c.Next()
			continue
		}
		// The callback changed the bucket, which invalidates the cursor.
		k, v = c.Seek(last)
		if k != nil && bytes.Equal(k, last) {
			k, v = c.Next()
		}
	}
	return nil
}

func (t *boltTxn) Set(key, val []byte) error {
	if t.done {
		return errTxnDone
	}
	if err := checkKey(key); err != nil {
		return err
	}
	t.writes++
	// bbolt keeps the slices until commit; the caller may reuse them.
	return t.b.Put(bytes.Clone(key), append([]byte{}, val...))
}

func (t *boltTxn) Delete(key []byte) error {
	if t.done {
		return errTxnDone
	}
	if err := checkKey(key); err != nil {
		return err
	}
	t.writes++
	return t.b.Delete(key)
}
