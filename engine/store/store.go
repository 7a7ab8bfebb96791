// Package store is Hearth's durable key-value state: keyed records,
// read-write transactions and ordered prefix scans behind one small
// interface. Badger backs it on 64-bit builds; bbolt on 32-bit builds,
// where Badger loses data (see shared field notes). Which one is the
// default is decided by build constraints on GOARCH.
package store

import "errors"

// ErrNotFound is returned by Get for a missing key.
var ErrNotFound = errors.New("store: not found")

// Reader reads keys. Values returned by Get are copies owned by the caller;
// values passed to a Scan callback are valid only during the call.
type Reader interface {
	// Get returns a copy of the value of key, or ErrNotFound.
	Get(key []byte) ([]byte, error)
	// Scan calls fn for every key with the prefix, in ascending key order.
	// A non-nil error from fn stops the scan and is returned.
	Scan(prefix []byte, fn func(key, val []byte) error) error
}

// Txn is a read-write transaction.
type Txn interface {
	Reader
	Set(key, val []byte) error
	Delete(key []byte) error
}

// Store is the state store. All methods are safe for concurrent use.
// Single-key Set and Delete are atomic; Update makes several changes atomic.
// Writes survive a kill -9 of the process once the call returns; Sync makes
// them survive a power cut.
type Store interface {
	Reader
	Set(key, val []byte) error
	Delete(key []byte) error
	// Update runs fn in a read-write transaction, committed if fn returns nil.
	Update(fn func(Txn) error) error
	// View runs fn in a read-only snapshot.
	View(fn func(Reader) error) error
	// Sync flushes written data to stable storage.
	Sync() error
	// Backend names the implementation: "badger", "bbolt" or "memory".
	Backend() string
	Close() error
}
