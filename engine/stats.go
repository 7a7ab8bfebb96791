package engine

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/hearth-media/hearth/engine/store"
)

const keyTotals = "stats/total"

// savedTotals is the stored form of TotalStats.
type savedTotals struct {
	Downloaded    int64 `json:"downloaded"`
	Uploaded      int64 `json:"uploaded"`
	ActiveSeconds int64 `json:"activeSeconds"`
	Sessions      int   `json:"sessions"`
}

// loadTotals reads the totals of earlier runs and counts this one.
func (e *Engine) loadTotals() {
	var t savedTotals
	err := e.st.View(func(tx store.Reader) error {
		b, err := tx.Get([]byte(keyTotals))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &t)
	})
	if err != nil {
		// Totals are figures to show; a damaged record must not stop the daemon.
		e.log.Warn("read transfer totals; starting from zero", "err", err)
		t = savedTotals{}
	}
	e.total = TotalStats{
		Downloaded: t.Downloaded,
		Uploaded:   t.Uploaded,
		Active:     time.Duration(t.ActiveSeconds) * time.Second,
		Sessions:   t.Sessions + 1,
	}
	e.saveTotals(e.start)
}

// totals adds this run to the earlier ones. Called with e.mu held.
func (e *Engine) totals(now time.Time) TotalStats {
	t := e.total
	down, up := e.sessionBytes()
	t.Downloaded += down
	t.Uploaded += up
	t.Active += now.Sub(e.start).Round(time.Second)
	return t
}

// sessionBytes is the payload moved this run, counted now. Called with e.mu held.
func (e *Engine) sessionBytes() (down, up int64) {
	down, up = e.goneDown, e.goneUp
	for _, tr := range e.byID {
		down += tr.sessDown
		up += tr.sessUp
		if tr.t != nil {
			st := tr.t.Stats()
			down += st.BytesReadData.Int64()
			up += st.BytesWrittenData.Int64()
		}
	}
	return down, up
}

// saveTotals stores the totals. Called with e.mu held (or before the loop starts).
func (e *Engine) saveTotals(now time.Time) {
	t := e.totals(now)
	b, _ := json.Marshal(savedTotals{
		Downloaded: t.Downloaded, Uploaded: t.Uploaded,
		ActiveSeconds: int64(t.Active / time.Second), Sessions: t.Sessions,
	})
	if err := e.st.Update(func(tx store.Txn) error { return tx.Set([]byte(keyTotals), b) }); err != nil {
		e.log.Warn("save transfer totals", "err", err)
	}
}

// removal is a torrent removed during this run.
type removal struct {
	id int64
	at time.Time
}

// Bounds of the removed-torrents list (Removed).
const (
	maxRemovals = 1024
	keepRemoved = 10 * time.Minute
)

// noteRemoved records a removal. Called with e.mu held.
func (e *Engine) noteRemoved(id int64, now time.Time) {
	e.removed = append(e.removed, removal{id: id, at: now})
	cut := 0
	for cut < len(e.removed) && (len(e.removed)-cut > maxRemovals || now.Sub(e.removed[cut].at) > keepRemoved) {
		cut++
	}
	e.removed = append(e.removed[:0], e.removed[cut:]...)
}

// Removed returns the ids of torrents removed at or after since, during
// this run and at most ten minutes ago; remote apps that poll use it to
// drop torrents that another client removed.
func (e *Engine) Removed(since time.Time) []int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ids []int64
	for _, r := range e.removed {
		if !r.at.Before(since) {
			ids = append(ids, r.id)
		}
	}
	return ids
}
