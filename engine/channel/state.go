package channel

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hearth-media/hearth/engine/mutable"
	"github.com/hearth-media/hearth/engine/store"
)

// Store keys. Everything of this package lives under "ch/".
const (
	ownPrefix  = "ch/own/"  // + channel name → ownRec (JSON)
	subPrefix  = "ch/sub/"  // + target hex → subRec (JSON)
	hashPrefix = "ch/hash/" // + channel name + "\x00" + path → hashRec (binary)
)

// itemRec is a signed item as stored: enough to check it again and to
// put it again unchanged.
type itemRec struct {
	Seq   int64  `json:"seq"`
	Value []byte `json:"value"`
	Sig   []byte `json:"sig"`
}

func toItemRec(it mutable.Item) *itemRec {
	return &itemRec{Seq: it.Seq, Value: it.Value, Sig: it.Sig[:]}
}

// item rebuilds the signed item of pub and salt; it is verified again.
func (r *itemRec) item(pub [32]byte, salt []byte) (mutable.Item, error) {
	it := mutable.Item{Key: pub, Salt: salt, Seq: r.Seq, Value: r.Value}
	if len(r.Sig) != len(it.Sig) {
		return it, fmt.Errorf("stored item: signature of %d bytes", len(r.Sig))
	}
	copy(it.Sig[:], r.Sig)
	return it, it.Verify()
}

// ownRec is a channel this device publishes. Seed is the secret key: it
// never leaves this struct except through ExportKey.
type ownRec struct {
	Name        string    `json:"name"`
	Seed        []byte    `json:"seed"` // ed25519 seed, 32 bytes
	Salt        []byte    `json:"salt,omitempty"`
	PieceLength int64     `json:"pieceLength"`
	Seq         int64     `json:"seq"`            // of the last publish; 0 = never published
	Item        *itemRec  `json:"item,omitempty"` // the last signed item
	InfoHash    string    `json:"infoHash,omitempty"`
	TorrentID   int64     `json:"torrentID,omitempty"`
	Files       int       `json:"files"`
	Bytes       int64     `json:"bytes"`
	Changed     bool      `json:"changed"` // content changed since the last publish
	CreatedAt   time.Time `json:"createdAt"`
	ChangedAt   time.Time `json:"changedAt,omitzero"`
	PublishedAt time.Time `json:"publishedAt,omitzero"`
	PutAt       time.Time `json:"putAt,omitzero"`
	PutNodes    int       `json:"putNodes"`
	Error       string    `json:"error,omitempty"`
}

// subRec is a subscription.
type subRec struct {
	PublicKey   [32]byte `json:"publicKey"`
	Salt        []byte   `json:"salt,omitempty"`
	Name        string   `json:"name"`
	Dir         string   `json:"dir"`
	KeepRemoved bool     `json:"keepRemoved"`
	Peers       []string `json:"peers,omitempty"` // hints from the link
	// Item is the valid item with the highest seq seen: what the
	// subscriber re-puts, and the version it wants installed.
	Item *itemRec `json:"item,omitempty"`
	// Installed is the version whose torrent is in the engine.
	Seq       int64  `json:"seq"`
	InfoHash  string `json:"infoHash,omitempty"`
	TorrentID int64  `json:"torrentID,omitempty"`
	Files     int    `json:"files"`
	Bytes     int64  `json:"bytes"`

	NewItems    int       `json:"newItems"`
	NewPaths    []string  `json:"newPaths,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	CheckedAt   time.Time `json:"checkedAt,omitzero"`
	UpdatedAt   time.Time `json:"updatedAt,omitzero"`
	Failures    int       `json:"failures"`
	BadSeq      int64     `json:"badSeq,omitempty"` // a version rejected for good
	Error       string    `json:"error,omitempty"`
	LastReject  string    `json:"lastReject,omitempty"`
	RejectedAt  time.Time `json:"rejectedAt,omitzero"`
	Downloaded  int64     `json:"downloaded"` // bytes the last update downloaded
	LastUpdated int64     `json:"lastUpdateBytes"`
}

func (r *subRec) target() [20]byte { return mutable.Target(r.PublicKey, r.Salt) }

func saveJSON(st store.Store, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := st.Set([]byte(key), b); err != nil {
		return fmt.Errorf("save %s: %w", key, err)
	}
	return nil
}

func loadAll[T any](st store.Store, prefix string) ([]*T, error) {
	var out []*T
	err := st.Scan([]byte(prefix), func(k, v []byte) error {
		r := new(T)
		if err := json.Unmarshal(v, r); err != nil {
			return fmt.Errorf("decode %s: %w", k, err)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// hashRec caches a published file's hashes, valid while its size,
// modification time and inode stay the same.
type hashRec struct {
	Size    int64
	ModTime int64 // Unix nanoseconds
	Inode   uint64
	SHA256  [32]byte
	Pieces  []byte
}

func (h *hashRec) marshal() []byte {
	b := make([]byte, 24, 24+32+len(h.Pieces))
	binary.BigEndian.PutUint64(b[0:], uint64(h.Size))
	binary.BigEndian.PutUint64(b[8:], uint64(h.ModTime))
	binary.BigEndian.PutUint64(b[16:], h.Inode)
	b = append(b, h.SHA256[:]...)
	return append(b, h.Pieces...)
}

var errBadHashRec = errors.New("channel: bad cached hash record")

func (h *hashRec) unmarshal(b []byte) error {
	if len(b) < 56 || (len(b)-56)%20 != 0 {
		return errBadHashRec
	}
	h.Size = int64(binary.BigEndian.Uint64(b[0:]))
	h.ModTime = int64(binary.BigEndian.Uint64(b[8:]))
	h.Inode = binary.BigEndian.Uint64(b[16:])
	copy(h.SHA256[:], b[24:56])
	h.Pieces = append([]byte(nil), b[56:]...)
	return nil
}

func hashKey(channel, path string, pl int64) []byte {
	return fmt.Appendf(nil, "%s%s\x00%d\x00%s", hashPrefix, channel, pl, path)
}
