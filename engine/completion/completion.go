// Package completion keeps anacrolix/torrent's piece completion marks in
// Hearth's store, so a restart does not re-hash what was already verified.
//
// Each mark is one key: "pc/" + 20-byte infohash + 4-byte big-endian piece
// index, with a one-byte value (1 complete, 0 incomplete). A torrent's
// pieces are therefore one contiguous, ordered key range: loading,
// counting and forgetting a torrent are each one prefix scan.
//
// A Completion caches each torrent's marks in memory after its first read
// (one byte per piece), because the engine asks for whole ranges after
// every verified piece. It must be the only writer of "pc/" keys in its
// store.
package completion

import (
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math"
	"sync"
	"sync/atomic"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
	"github.com/anacrolix/torrent/types/infohash"

	"github.com/hearth-media/hearth/engine/store"
)

// Prefix starts every piece completion key in the store.
const Prefix = "pc/"

const (
	keyLen = len(Prefix) + infohash.Size + 4

	// denseLimit bounds the cache's slice: marks of higher piece indices
	// (torrents of over a million pieces) go to a map, so one odd index
	// cannot make the cache allocate gigabytes.
	denseLimit = 1 << 20

	// forgetBatch bounds the keys deleted per transaction: Badger rejects
	// transactions much over store.MinTxnKeys.
	forgetBatch = 1000
)

// piece states in the cache.
const (
	unknown    byte = iota // no mark: the engine hashes the piece
	incomplete             // hashed, bad or missing data
	complete               // hashed and good
)

// ErrPieceIndex is returned for a negative piece index or one that does not
// fit the key's 32 bits.
var ErrPieceIndex = errors.New("completion: piece index out of range")

// Completion implements storage.PieceCompletion and
// storage.PieceCompletionGetRanger on a store.Store. It is safe for
// concurrent use.
type Completion struct {
	s     store.Store
	batch store.Batcher // nil if the store has no group commit
	sets  atomic.Int64

	mu       sync.Mutex
	torrents map[infohash.T]*torrent

	// stripes order concurrent Sets of the same piece, so the store and
	// the cache agree on which came last.
	stripes [64]sync.Mutex
}

// torrent is the cached marks of one torrent.
type torrent struct {
	load   sync.Mutex // held while loading
	loaded bool       // set under load, then immutable
	mu     sync.RWMutex
	state  []byte          // by piece index below denseLimit; missing entries are unknown
	sparse map[uint32]byte // piece index ≥ denseLimit
}

var (
	_ storage.PieceCompletion          = (*Completion)(nil)
	_ storage.PieceCompletionGetRanger = (*Completion)(nil)
)

// New returns a Completion on s. Closing it does not close s.
func New(s store.Store) *Completion {
	c := &Completion{s: s, torrents: make(map[infohash.T]*torrent)}
	if b, ok := s.(store.Batcher); ok {
		c.batch = b
	}
	return c
}

// key returns the store key of a piece's mark.
func key(ih infohash.T, index int) []byte {
	k := make([]byte, keyLen)
	copy(k, Prefix)
	copy(k[len(Prefix):], ih[:])
	binary.BigEndian.PutUint32(k[len(Prefix)+infohash.Size:], uint32(index))
	return k
}

func torrentPrefix(ih infohash.T) []byte {
	return append([]byte(Prefix), ih[:]...)
}

func checkIndex(i int) error {
	if i < 0 || uint64(i) > math.MaxUint32 {
		return fmt.Errorf("%w: %d", ErrPieceIndex, i)
	}
	return nil
}

// torrent returns ih's cached marks, loading them with one prefix scan the
// first time.
func (c *Completion) torrent(ih infohash.T) (*torrent, error) {
	c.mu.Lock()
	t := c.torrents[ih]
	if t == nil {
		t = &torrent{}
		c.torrents[ih] = t
	}
	c.mu.Unlock()

	t.load.Lock()
	defer t.load.Unlock()
	if t.loaded {
		return t, nil
	}
	var loaded torrent
	err := c.s.Scan(torrentPrefix(ih), func(k, v []byte) error {
		if len(k) != keyLen || len(v) != 1 || v[0] > 1 {
			return nil // not ours; the piece stays unknown and is hashed
		}
		loaded.put(int(binary.BigEndian.Uint32(k[len(Prefix)+infohash.Size:])), incomplete+v[0])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load piece completion of %s: %w", ih.HexString(), err)
	}
	t.mu.Lock()
	t.state, t.sparse = loaded.state, loaded.sparse
	t.mu.Unlock()
	t.loaded = true
	return t, nil
}

// get and put need t.mu (read or write).
func (t *torrent) get(i int) byte {
	if i < len(t.state) {
		return t.state[i]
	}
	if i >= denseLimit {
		return t.sparse[uint32(i)]
	}
	return unknown
}

func (t *torrent) put(i int, st byte) {
	if i >= denseLimit {
		if t.sparse == nil {
			t.sparse = make(map[uint32]byte)
		}
		t.sparse[uint32(i)] = st
		return
	}
	if i >= len(t.state) {
		t.state = append(t.state, make([]byte, i+1-len(t.state))...)
	}
	t.state[i] = st
}

func toCompletion(st byte) storage.Completion {
	return storage.Completion{Ok: st != unknown, Complete: st == complete}
}

// Get returns the mark of a piece; Ok is false when there is none, so the
// engine hashes the piece.
func (c *Completion) Get(pk metainfo.PieceKey) (storage.Completion, error) {
	if err := checkIndex(pk.Index); err != nil {
		return storage.Completion{Err: err}, err
	}
	t, err := c.torrent(pk.InfoHash)
	if err != nil {
		return storage.Completion{Err: err}, err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	return toCompletion(t.get(pk.Index)), nil
}

// GetRange yields the marks of pieces begin to end-1, exactly end-begin
// values (the engine relies on the count), from at most one prefix scan.
func (c *Completion) GetRange(ih infohash.T, begin, end int) iter.Seq[storage.Completion] {
	return func(yield func(storage.Completion) bool) {
		if end <= begin {
			return
		}
		err := checkIndex(begin)
		if err == nil {
			err = checkIndex(end - 1)
		}
		var t *torrent
		if err == nil {
			t, err = c.torrent(ih)
		}
		if err != nil {
			for range end - begin {
				if !yield(storage.Completion{Err: err}) {
					return
				}
			}
			return
		}
		// Copy under the lock and yield without it: the consumer may Set.
		states := make([]byte, end-begin)
		t.mu.RLock()
		if begin < len(t.state) {
			copy(states, t.state[begin:min(end, len(t.state))])
		}
		if end > denseLimit && len(t.sparse) > 0 {
			for i := max(begin, denseLimit); i < end; i++ {
				states[i-begin] = t.sparse[uint32(i)]
			}
		}
		t.mu.RUnlock()
		for _, st := range states {
			if !yield(toCompletion(st)) {
				return
			}
		}
	}
}

// Set marks a piece. Once it returns the mark survives kill -9. Setting
// the mark a piece already has writes nothing.
func (c *Completion) Set(pk metainfo.PieceKey, isComplete bool) error {
	c.sets.Add(1)
	if err := checkIndex(pk.Index); err != nil {
		return err
	}
	stripe := &c.stripes[(uint(pk.InfoHash[0])^uint(pk.Index))%uint(len(c.stripes))]
	stripe.Lock()
	defer stripe.Unlock()
	t, err := c.torrent(pk.InfoHash)
	if err != nil {
		return err
	}
	want, val := incomplete, []byte{0}
	if isComplete {
		want, val = complete, []byte{1}
	}
	t.mu.RLock()
	same := t.get(pk.Index) == want
	t.mu.RUnlock()
	if same {
		return nil
	}
	k := key(pk.InfoHash, pk.Index)
	if c.batch != nil {
		err = c.batch.Batch(func(tx store.Txn) error { return tx.Set(k, val) })
	} else {
		err = c.s.Set(k, val)
	}
	if err != nil {
		return fmt.Errorf("set piece completion %s/%d: %w", pk.InfoHash.HexString(), pk.Index, err)
	}
	t.mu.Lock()
	t.put(pk.Index, want)
	t.mu.Unlock()
	return nil
}

// Sets counts Set calls since New. The engine calls Set after each piece
// hash, so tests use it to prove that a restart re-hashed nothing.
func (c *Completion) Sets() int64 { return c.sets.Load() }

// Count returns how many pieces of ih are marked complete.
func (c *Completion) Count(ih infohash.T) (int, error) {
	t, err := c.torrent(ih)
	if err != nil {
		return 0, err
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := 0
	for _, st := range t.state {
		if st == complete {
			n++
		}
	}
	for _, st := range t.sparse {
		if st == complete {
			n++
		}
	}
	return n, nil
}

// Bitmap returns, for pieces 0 to numPieces-1, whether each is marked
// complete.
func (c *Completion) Bitmap(ih infohash.T, numPieces int) ([]bool, error) {
	if numPieces < 0 {
		return nil, fmt.Errorf("%w: %d pieces", ErrPieceIndex, numPieces)
	}
	t, err := c.torrent(ih)
	if err != nil {
		return nil, err
	}
	bm := make([]bool, numPieces)
	t.mu.RLock()
	defer t.mu.RUnlock()
	for i := range min(numPieces, len(t.state)) {
		bm[i] = t.state[i] == complete
	}
	for i, st := range t.sparse {
		if int(i) < numPieces {
			bm[i] = st == complete
		}
	}
	return bm, nil
}

// Forget deletes every mark of ih, for a removed torrent. It must not run
// while the engine still uses the torrent. Each batch of deletes is atomic;
// after an error, calling Forget again finishes the job.
func (c *Completion) Forget(ih infohash.T) error {
	c.mu.Lock()
	delete(c.torrents, ih)
	c.mu.Unlock()
	var keys [][]byte
	err := c.s.Scan(torrentPrefix(ih), func(k, _ []byte) error {
		keys = append(keys, append([]byte{}, k...))
		return nil
	})
	if err != nil {
		return fmt.Errorf("forget piece completion of %s: %w", ih.HexString(), err)
	}
	for len(keys) > 0 {
		n := min(len(keys), forgetBatch)
		err := c.s.Update(func(tx store.Txn) error {
			for _, k := range keys[:n] {
				if err := tx.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("forget piece completion of %s: %w", ih.HexString(), err)
		}
		keys = keys[n:]
	}
	return nil
}

// Close does nothing: the store belongs to the caller, and the Completion
// stays usable (anacrolix closes its piece completion with each storage).
func (c *Completion) Close() error { return nil }
