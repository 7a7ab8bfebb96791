// Package store is Hearth's durable key-value state: keyed records,
// read-write transactions and ordered prefix scans behind one small
// interface. Badger backs it on 64-bit builds; bbolt on 32-bit builds,
// where Badger loses data (see shared field notes). Which one is the
// default is decided by build constraints on GOARCH: 32-bit builds do not
// link Badger at all.
//
// # Semantics (every backend)
//
//   - Keys are 1 to MaxKeySize bytes (ErrInvalidKey otherwise) and sort as
//     bytes. Values may be empty; an empty value is not a missing key.
//   - Values returned by Get are copies owned by the caller. Keys and values
//     passed to a Scan callback are valid only during the call.
//   - Set, Delete and Update are durable against a crash of the process
//     (kill -9) once they return. Surviving a power cut needs Sync: bbolt
//     fsyncs every commit anyway (so Sync is a no-op there); Badger writes
//     without fsync (SyncWrites false) and Sync flushes its logs.
//   - Writes are serialized: Update transactions are serializable, so a
//     read-modify-write inside Update never loses a concurrent update.
//   - Callbacks of Update, View and Scan must not call methods of the Store
//     itself (bbolt would deadlock, the memory backend too); use the Txn or
//     Reader passed in. Inside Update, a Scan callback may Set and Delete
//     through the same Txn.
//   - An Update may change at least MinTxnKeys keys; far bigger ones can fail
//     with ErrTxnTooBig on Badger (its limit scales with MemTableMiB).
//   - After Close every method returns ErrClosed; Close is idempotent.
package store

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound is returned by Get for a missing key.
	ErrNotFound = errors.New("store: not found")
	// ErrInvalidKey is returned for an empty key or one over MaxKeySize.
	ErrInvalidKey = errors.New("store: invalid key")
	// ErrClosed is returned by every method of a closed store.
	ErrClosed = errors.New("store: closed")
	// ErrTxnTooBig is returned by Update when the transaction holds more
	// changes than the backend can commit at once.
	ErrTxnTooBig = errors.New("store: transaction too big")
	// ErrLocked is returned by Open when another process (or another Open in
	// this process) holds the store.
	ErrLocked = errors.New("store: in use by another process")
	// ErrCorrupt is returned by Open when the files are not a valid store.
	ErrCorrupt = errors.New("store: corrupt")
	// ErrUnknownBackend is returned by Open for a backend name it does not know.
	ErrUnknownBackend = errors.New("store: unknown backend")
	// ErrUnsupported is returned by Open for a backend not compiled into this
	// build (Badger on 32-bit CPUs).
	ErrUnsupported = errors.New("store: backend not supported in this build")

	errTxnDone = errors.New("store: transaction used after it ended")
)

const (
	// MaxKeySize is the longest key every backend accepts (bbolt's limit).
	MaxKeySize = 32 << 10
	// MinTxnKeys is how many small changes one Update may always hold.
	MinTxnKeys = 2000
)

// Reader reads keys. Values returned by Get are copies owned by the caller;
// values passed to a Scan callback are valid only during the call.
type Reader interface {
	// Get returns a copy of the value of key, or ErrNotFound.
	Get(key []byte) ([]byte, error)
	// Scan calls fn for every key with the prefix, in ascending key order.
	// An empty prefix scans every key. A non-nil error from fn stops the
	// scan and is returned.
	Scan(prefix []byte, fn func(key, val []byte) error) error
}

// Txn is a read-write transaction. It sees its own writes. It must not be
// used after the Update callback returns.
type Txn interface {
	Reader
	Set(key, val []byte) error
	// Delete removes key; a missing key is not an error.
	Delete(key []byte) error
}

// Store is the state store. All methods are safe for concurrent use.
// Single-key Set and Delete are atomic; Update makes several changes atomic.
// Writes survive a kill -9 of the process once the call returns; Sync makes
// them survive a power cut.
type Store interface {
	Reader
	Set(key, val []byte) error
	// Delete removes key; a missing key is not an error.
	Delete(key []byte) error
	// Update runs fn in a read-write transaction, committed if fn returns nil.
	// If fn returns an error nothing it did is applied and the error is
	// returned.
	Update(fn func(Txn) error) error
	// View runs fn in a read-only snapshot.
	View(fn func(Reader) error) error
	// Sync flushes written data to stable storage.
	Sync() error
	// Backend names the implementation: "badger", "bbolt" or "memory".
	Backend() string
	Close() error
}

// Batcher is implemented by stores whose commits are expensive (bbolt
// fsyncs each one). Batch is Update for small, independent writes from many
// goroutines: concurrent calls may share one commit, so fn may run more
// than once and must not have effects outside its Txn. Like Update, a
// returned Batch is durable against kill -9.
type Batcher interface {
	Batch(fn func(Txn) error) error
}

func checkKey(key []byte) error {
	if len(key) == 0 {
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	}
	if len(key) > MaxKeySize {
		return fmt.Errorf("%w: %d bytes, max %d", ErrInvalidKey, len(key), MaxKeySize)
	}
	return nil
}
