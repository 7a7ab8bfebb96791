package store

import (
	"bytes"
	"slices"
	"sort"
	"sync"
)

// memStore keeps everything in a sorted slice. It is for tests: nothing
// survives Close, and writes cost O(n).
type memStore struct {
	mu     sync.RWMutex
	keys   [][]byte // sorted
	vals   [][]byte // vals[i] belongs to keys[i]
	closed bool
}

func newMemory() *memStore { return &memStore{} }

func (m *memStore) Backend() string { return BackendMemory }

func (m *memStore) find(key []byte) (int, bool) {
	return slices.BinarySearchFunc(m.keys, key, bytes.Compare)
}

func (m *memStore) get(key []byte) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	i, ok := m.find(key)
	if !ok {
		return nil, ErrNotFound
	}
	return bytes.Clone(m.vals[i]), nil
}

// put stores a copy of val and returns the previous value (nil, false if
// there was none).
func (m *memStore) put(key, val []byte) ([]byte, bool) {
	v := append([]byte{}, val...)
	i, ok := m.find(key)
	if ok {
		old := m.vals[i]
		m.vals[i] = v
		return old, true
	}
	m.keys = slices.Insert(m.keys, i, bytes.Clone(key))
	m.vals = slices.Insert(m.vals, i, v)
	return nil, false
}

func (m *memStore) del(key []byte) ([]byte, bool) {
	i, ok := m.find(key)
	if !ok {
		return nil, false
	}
	old := m.vals[i]
	m.keys = slices.Delete(m.keys, i, i+1)
	m.vals = slices.Delete(m.vals, i, i+1)
	return old, true
}

// scan calls fn for each key with prefix. fn may change the store (inside
// Update); the position is kept by key, not index.
func (m *memStore) scan(prefix []byte, fn func(key, val []byte) error) error {
	i := sort.Search(len(m.keys), func(i int) bool { return bytes.Compare(m.keys[i], prefix) >= 0 })
	for i < len(m.keys) && bytes.HasPrefix(m.keys[i], prefix) {
		k := m.keys[i]
		if err := fn(k, m.vals[i]); err != nil {
			return err
		}
		// Resume after k, wherever it is now.
		j, found := m.find(k)
		if found {
			j++
		}
		i = j
	}
	return nil
}

func (m *memStore) Get(key []byte) ([]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return nil, ErrClosed
	}
	return m.get(key)
}

func (m *memStore) Scan(prefix []byte, fn func(key, val []byte) error) error {
	return m.View(func(r Reader) error { return r.Scan(prefix, fn) })
}

func (m *memStore) Set(key, val []byte) error {
	return m.Update(func(tx Txn) error { return tx.Set(key, val) })
}

func (m *memStore) Delete(key []byte) error {
	return m.Update(func(tx Txn) error { return tx.Delete(key) })
}

// undo is one change to roll back.
type undo struct {
	key, val []byte
	existed  bool
}

type memTxn struct {
	m    *memStore
	undo []undo
	done bool
}

func (t *memTxn) Get(key []byte) ([]byte, error) {
	if t.done {
		return nil, errTxnDone
	}
	return t.m.get(key)
}

func (t *memTxn) Scan(prefix []byte, fn func(key, val []byte) error) error {
	if t.done {
		return errTxnDone
	}
	return t.m.scan(prefix, fn)
}

func (t *memTxn) Set(key, val []byte) error {
	if t.done {
		return errTxnDone
	}
	if err := checkKey(key); err != nil {
		return err
	}
	old, existed := t.m.put(key, val)
	t.undo = append(t.undo, undo{bytes.Clone(key), old, existed})
	return nil
}

func (t *memTxn) Delete(key []byte) error {
	if t.done {
		return errTxnDone
	}
	if err := checkKey(key); err != nil {
		return err
	}
	if old, existed := t.m.del(key); existed {
		t.undo = append(t.undo, undo{bytes.Clone(key), old, true})
	}
	return nil
}

func (t *memTxn) rollback() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		u := t.undo[i]
		if u.existed {
			t.m.put(u.key, u.val)
		} else {
			t.m.del(u.key)
		}
	}
}

func (m *memStore) Update(fn func(Txn) error) (err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	t := &memTxn{m: m}
	committed := false
	defer func() {
		t.done = true
		if !committed {
			t.rollback() // also on panic
		}
	}()
	if err := fn(t); err != nil {
		return err
	}
	committed = true
	return nil
}

// memReader is a read-only view; it holds the read lock while in use.
type memReader struct {
	m    *memStore
	done bool
}

func (r *memReader) Get(key []byte) ([]byte, error) {
	if r.done {
		return nil, errTxnDone
	}
	return r.m.get(key)
}

func (r *memReader) Scan(prefix []byte, fn func(key, val []byte) error) error {
	if r.done {
		return errTxnDone
	}
	return r.m.scan(prefix, fn)
}

func (m *memStore) View(fn func(Reader) error) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return ErrClosed
	}
	r := &memReader{m: m}
	defer func() { r.done = true }()
	return fn(r)
}

func (m *memStore) Sync() error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return ErrClosed
	}
	return nil
}

func (m *memStore) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.keys, m.vals = nil, nil
	return nil
}
