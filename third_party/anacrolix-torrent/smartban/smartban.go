package smartban

import (
	"iter"
	"sync"

	g "github.com/anacrolix/generics"
)

type Cache[Peer, BlockKey, Hash comparable] struct {
	Hash func([]byte) Hash

	// Wonder if we should make this an atomic.
	lock   sync.RWMutex
	blocks map[BlockKey][]peerAndHash[Peer, Hash]
	n      int // Hearth: records in blocks
}

// Hearth: bounds. v1.59.1 appended a record each time a block arrived and
// forgot a block's records only when its piece passed its hash check, so
// peers that kept a piece failing (several junk senders together, none
// of them alone on a piece) grew the cache by a record per 16 KiB they
// sent, for as long as they kept at it.
const (
	// MaxPeersPerBlock bounds the peers recorded per block; the oldest
	// record goes first.
	MaxPeersPerBlock = 8
	// MaxRecords bounds the records of one cache; when it is full, new
	// blocks are not recorded until pieces pass and free their records.
	MaxRecords = 1 << 16
)

type Block[Key any] struct {
	Key  Key
	Data []byte
}

type peerAndHash[Peer, Hash any] struct {
	Peer Peer
	Hash Hash
	// Hearth: the peer sent this block twice with different data. One of
	// them was wrong, so it is banned whatever the block turns out to be.
	Conflict bool
}

func (me *Cache[Peer, BlockKey, Hash]) Init() {
	g.MakeMap(&me.blocks)
}

func (me *Cache[Peer, BlockKey, Hash]) RecordBlock(peer Peer, key BlockKey, data []byte) {
	hash := me.Hash(data)
	me.lock.Lock()
	defer me.lock.Unlock()
	peers := me.blocks[key]
	// Hearth: one record per peer and block.
	for i := range peers {
		if peers[i].Peer == peer {
			if peers[i].Hash != hash {
				peers[i].Conflict = true
			}
			return
		}
	}
	if len(peers) >= MaxPeersPerBlock {
		peers = append(peers[:0], peers[1:]...)
		me.blocks[key] = peers
		me.n--
	}
	if me.n >= MaxRecords {
		return
	}
	peers = append(peers, peerAndHash[Peer, Hash]{Peer: peer, Hash: hash})
	me.blocks[key] = peers
	me.n++
}

// Records is how many peer records the cache holds (Hearth).
func (me *Cache[Peer, BlockKey, Hash]) Records() int {
	me.lock.RLock()
	defer me.lock.RUnlock()
	return me.n
}

func (me *Cache[Peer, BlockKey, Hash]) CheckBlock(key BlockKey, data []byte) (bad []Peer) {
	correct := me.Hash(data)
	me.lock.RLock()
	defer me.lock.RUnlock()
	for _, item := range me.blocks[key] {
		if item.Conflict || item.Hash != correct {
			bad = append(bad, item.Peer)
		}
	}
	return
}

func (me *Cache[Peer, BlockKey, Hash]) ForgetBlockSeq(seq iter.Seq[BlockKey]) {
	me.lock.Lock()
	defer me.lock.Unlock()
	if len(me.blocks) == 0 {
		return
	}
	for key := range seq {
		me.n -= len(me.blocks[key])
		delete(me.blocks, key)
	}
}

// Returns whether any block in the sequence has at least once peer recorded.
func (me *Cache[Peer, BlockKey, Hash]) HasPeerForBlocks(seq iter.Seq[BlockKey]) bool {
	me.lock.RLock()
	defer me.lock.RUnlock()
	if len(me.blocks) == 0 {
		return false
	}
	for key := range seq {
		if len(me.blocks[key]) != 0 {
			return true
		}
	}
	return false
}

func (me *Cache[Peer, BlockKey, Hash]) HasBlocks() bool {
	me.lock.RLock()
	defer me.lock.RUnlock()
	return len(me.blocks) != 0
}
