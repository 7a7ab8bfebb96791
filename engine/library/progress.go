package library

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/hearth-media/hearth/engine/store"
)

// Continue watching: where a player stopped in a file, kept in the store
// under "library/progress/":
//
//	library/progress/f/<torrent id>/<file index>     → Progress (JSON)
//	library/progress/u/<^updated><torrent id><index> → ""   newest first
//
// At most MaxProgress positions are kept (the oldest go); a finished file
// (position at FinishedAt of its duration or more) is forgotten, so that
// it leaves the list.

const (
	prefixProgress      = "library/progress/f/"
	prefixProgressOrder = "library/progress/u/"
	// MaxProgress bounds the positions kept.
	MaxProgress = 200
	// FinishedAt is the share of the duration from which a file counts as
	// watched to the end (credits are rarely watched).
	FinishedAt = 0.95
	// maxSeconds bounds positions and durations: a week.
	maxSeconds = 7 * 24 * 3600
)

// ErrNoItem means the library holds no such file.
var ErrNoItem = errors.New("library: no such item")

// Progress is a player's position in one file.
type Progress struct {
	Torrent  int64     `json:"torrent"`
	Index    int       `json:"index"`
	Position float64   `json:"position"` // seconds
	Duration float64   `json:"duration"` // seconds
	Updated  time.Time `json:"updated"`
}

// Watching is an item with the position a player stopped at.
type Watching struct {
	Item
	Position float64   `json:"position"`
	Duration float64   `json:"duration"`
	Updated  time.Time `json:"updated"`
}

func progressKey(id int64, index int) []byte {
	return fmt.Appendf(nil, "%s%016x/%08x", prefixProgress, id, index)
}

func progressOrderKey(t time.Time, id int64, index int) []byte {
	return orderKey(prefixProgressOrder, t, id, index)
}

// SetProgress records that a player is at position seconds of a file
// lasting duration seconds; at FinishedAt of it or more, the file is
// forgotten instead. The file must be in the library (ErrNoItem);
// nonsensical numbers are ErrBadQuery.
func (l *Library) SetProgress(id int64, index int, position, duration float64) error {
	if math.IsNaN(position) || math.IsNaN(duration) || position < 0 || duration <= 0 || position > maxSeconds || duration > maxSeconds {
		return fmt.Errorf("%w: position %v of duration %v seconds", ErrBadQuery, position, duration)
	}
	if _, err := l.st.Get(fileKey(id, index)); errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: file %d of torrent %d", ErrNoItem, index, id)
	} else if err != nil {
		return fmt.Errorf("read library item: %w", err)
	}
	position = min(position, duration)
	finished := position >= FinishedAt*duration
	now := l.now().UTC()
	err := l.st.Update(func(tx store.Txn) error {
		if b, err := tx.Get(progressKey(id, index)); err == nil {
			var old Progress
			if json.Unmarshal(b, &old) == nil {
				if err := tx.Delete(progressOrderKey(old.Updated, id, index)); err != nil {
					return err
				}
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if finished {
			return tx.Delete(progressKey(id, index))
		}
		b, _ := json.Marshal(Progress{Torrent: id, Index: index, Position: position, Duration: duration, Updated: now})
		if err := tx.Set(progressKey(id, index), b); err != nil {
			return err
		}
		return tx.Set(progressOrderKey(now, id, index), nil)
	})
	if err != nil {
		return fmt.Errorf("save progress: %w", err)
	}
	return l.trimProgress()
}

// trimProgress forgets all but the MaxProgress newest positions.
func (l *Library) trimProgress() error {
	var old []Progress
	n := 0
	err := l.st.Scan([]byte(prefixProgressOrder), func(k, _ []byte) error {
		n++
		if n <= MaxProgress {
			return nil
		}
		id, index, ok := parseOrderKey(k, prefixProgressOrder)
		if ok {
			old = append(old, Progress{Torrent: id, Index: index})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan progress: %w", err)
	}
	for _, p := range old {
		if err := l.forgetProgress(p.Torrent, p.Index); err != nil {
			return err
		}
	}
	return nil
}

// forgetProgress deletes one file's position.
func (l *Library) forgetProgress(id int64, index int) error {
	err := l.st.Update(func(tx store.Txn) error {
		b, err := tx.Get(progressKey(id, index))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		var p Progress
		if json.Unmarshal(b, &p) == nil {
			if err := tx.Delete(progressOrderKey(p.Updated, id, index)); err != nil {
				return err
			}
		}
		return tx.Delete(progressKey(id, index))
	})
	if err != nil {
		return fmt.Errorf("forget progress: %w", err)
	}
	return nil
}

// dropProgress forgets the positions in a removed torrent's files.
func (l *Library) dropProgress(id int64) error {
	var idx []int
	err := l.st.Scan(fmt.Appendf(nil, "%s%016x/", prefixProgress, id), func(_, v []byte) error {
		var p Progress
		if json.Unmarshal(v, &p) == nil {
			idx = append(idx, p.Index)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan progress: %w", err)
	}
	for _, i := range idx {
		if err := l.forgetProgress(id, i); err != nil {
			return err
		}
	}
	return nil
}

// GetProgress returns the position kept for a file; ErrNoItem if none.
func (l *Library) GetProgress(id int64, index int) (Progress, error) {
	b, err := l.st.Get(progressKey(id, index))
	if errors.Is(err, store.ErrNotFound) {
		return Progress{}, fmt.Errorf("%w: no position for file %d of torrent %d", ErrNoItem, index, id)
	} else if err != nil {
		return Progress{}, fmt.Errorf("read progress: %w", err)
	}
	var p Progress
	if err := json.Unmarshal(b, &p); err != nil {
		return Progress{}, fmt.Errorf("read progress: %w", err)
	}
	return p, nil
}

// Continue lists the files a player stopped in before the end, newest
// first, at most limit (1..MaxProgress; 0 means 20). Files no longer in
// the library are left out.
func (l *Library) Continue(limit int) ([]Watching, error) {
	if limit <= 0 {
		limit = 20
	}
	limit = min(limit, MaxProgress)
	out := []Watching{}
	err := l.st.View(func(r store.Reader) error {
		return r.Scan([]byte(prefixProgressOrder), func(k, _ []byte) error {
			id, index, ok := parseOrderKey(k, prefixProgressOrder)
			if !ok {
				return nil
			}
			pb, err := r.Get(progressKey(id, index))
			if err != nil {
				return nil
			}
			ib, err := r.Get(fileKey(id, index))
			if err != nil {
				return nil // the torrent went; Sync forgets it
			}
			var w Watching
			var p Progress
			if json.Unmarshal(pb, &p) != nil || json.Unmarshal(ib, &w.Item) != nil {
				return nil
			}
			w.Position, w.Duration, w.Updated = p.Position, p.Duration, p.Updated
			out = append(out, w)
			if len(out) == limit {
				return errStop
			}
			return nil
		})
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, fmt.Errorf("list progress: %w", err)
	}
	return out, nil
}

// parseOrderKey reads the torrent id and file index of an ordering key.
func parseOrderKey(k []byte, prefix string) (int64, int, bool) {
	rest := k[len(prefix):]
	if len(rest) != 40 {
		return 0, 0, false
	}
	var raw [20]byte
	if _, err := hex.Decode(raw[:], rest); err != nil {
		return 0, 0, false
	}
	return int64(binary.BigEndian.Uint64(raw[8:16])), int(binary.BigEndian.Uint32(raw[16:20])), true
}
