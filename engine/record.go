package engine

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hearth-media/hearth/engine/store"
)

// Keys in the store. Everything the engine persists lives under these
// prefixes; piece completion lives under "pc/" (engine/completion).
const (
	keyTorrentPrefix = "t/"    // t/<infohash hex> → record (JSON)
	keyInfoPrefix    = "info/" // info/<infohash hex> → bencoded info dictionary
	keyNextID        = "seq/torrent-id"
	keySettings      = "settings/runtime"
)

// record is what the engine stores for one torrent. It is written in one
// transaction with the info dictionary, so a crash leaves either the whole
// torrent or nothing.
type record struct {
	ID       int64    `json:"id"`
	InfoHash string   `json:"infoHash"`
	Name     string   `json:"name"`
	Trackers []string `json:"trackers,omitempty"`
	// WebSeeds are BEP 19 web seed URLs (a .torrent's url-list).
	WebSeeds []string `json:"webSeeds,omitempty"`
	Dir      string   `json:"dir"`
	// IncompleteDir is where the data is while the torrent downloads into
	// the incomplete folder; empty once it is in Dir.
	IncompleteDir string `json:"incompleteDir,omitempty"`
	// InPlace: the incomplete folder is never used (AddRequest.InPlace).
	InPlace bool     `json:"inPlace,omitempty"`
	Labels  []string `json:"labels,omitempty"`
	// Root and Paths are the on-disk names after renames (RenamePath): Root
	// replaces the info's name, Paths[i] file i's path below the root
	// (slash separated). Empty means the info's own names.
	Root  string   `json:"root,omitempty"`
	Paths []string `json:"paths,omitempty"`

	// Paused is set by the user; Finished when a seeding limit stopped it.
	Paused   bool `json:"paused,omitempty"`
	Finished bool `json:"finished,omitempty"`
	// Force starts it regardless of queue limits (start-now).
	Force bool `json:"force,omitempty"`
	// Error is a stopping error (e.g. disk full); ErrorKind says how to recover.
	Error     string `json:"error,omitempty"`
	ErrorKind string `json:"errorKind,omitempty"`

	// Wanted and Priority per file, once the info is known. InitialFiles is
	// the selection asked for at add time (nil = all), applied when a
	// magnet's metadata arrives.
	Wanted       []bool     `json:"wanted,omitempty"`
	Priority     []Priority `json:"priority,omitempty"`
	InitialFiles []int      `json:"initialFiles,omitempty"`
	PickFiles    bool       `json:"pickFiles,omitempty"`

	Options  TorrentOptions `json:"options"`
	QueuePos int            `json:"queuePos"`

	AddedAt      time.Time `json:"addedAt"`
	DoneAt       time.Time `json:"doneAt,omitzero"`
	LastActivity time.Time `json:"lastActivity,omitzero"`
	EditedAt     time.Time `json:"editedAt,omitzero"`

	Downloaded int64 `json:"downloaded"`
	Uploaded   int64 `json:"uploaded"`
}

func torrentKey(ih string) []byte { return []byte(keyTorrentPrefix + ih) }
func infoKey(ih string) []byte    { return []byte(keyInfoPrefix + ih) }

func putRecord(tx store.Txn, r *record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode torrent %s: %w", r.InfoHash, err)
	}
	return tx.Set(torrentKey(r.InfoHash), b)
}

// nextID hands out the next stable torrent id inside tx.
func nextID(tx store.Txn) (int64, error) {
	var id int64 = 1
	b, err := tx.Get([]byte(keyNextID))
	switch {
	case err == nil && len(b) == 8:
		id = int64(binary.BigEndian.Uint64(b))
	case err == nil:
		return 0, fmt.Errorf("torrent id counter is corrupt (%d bytes)", len(b))
	case !errors.Is(err, store.ErrNotFound):
		return 0, err
	}
	var nb [8]byte
	binary.BigEndian.PutUint64(nb[:], uint64(id+1))
	if err := tx.Set([]byte(keyNextID), nb[:]); err != nil {
		return 0, err
	}
	return id, nil
}

// loadRecords reads every torrent record.
func loadRecords(s store.Store) ([]*record, error) {
	var recs []*record
	err := s.View(func(tx store.Reader) error {
		return tx.Scan([]byte(keyTorrentPrefix), func(k, v []byte) error {
			r := new(record)
			if err := json.Unmarshal(v, r); err != nil {
				return fmt.Errorf("decode %s: %w", k, err)
			}
			recs = append(recs, r)
			return nil
		})
	})
	return recs, err
}
