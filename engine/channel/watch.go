package channel

import (
	"maps"
	"strconv"
	"time"
)

// watchInterval is how often Serve looks for subscriptions' state steps.
const watchInterval = time.Second

// subWatch notices what a subscription's status shows changing without
// a call that would say so — its state stepping from fetching to
// downloading to synced (the engine finishing a download tells nobody)
// and its new-items count — and calls Options.OnStatus (or OnChange) once
// for all the changes it saw, at most once per watchInterval. Byte progress is not a
// change: a download does not call OnChange per piece. "looking" is
// left out too: every poll passes through it and back. Owned by Serve's
// goroutine.
type subWatch struct {
	at   time.Time
	last map[string]subMark // nil before the first look
}

// subMark is what subWatch compares of one subscription.
type subMark struct {
	state     string
	version   int64
	torrentID int64
	newItems  int
	err       string
}

// check looks at every subscription if watchInterval has passed since
// the last look, and notifies when a mark changed.
func (w *subWatch) check(m *Manager, now time.Time) {
	if now.Sub(w.at) < watchInterval {
		return
	}
	w.at = now
	type sub struct {
		mark  subMark
		bytes int64
	}
	m.mu.Lock()
	subs := make(map[string]sub, len(m.subs))
	for id, r := range m.subs {
		subs[id] = sub{subMark{state: m.state[id], version: r.Seq, torrentID: r.TorrentID, newItems: r.NewItems, err: r.Error}, r.Bytes}
	}
	m.mu.Unlock()
	marks := make(map[string]subMark, len(subs))
	for id, s := range subs {
		mk := s.mark
		if mk.state == "" || mk.state == StateLooking {
			prev, seen := w.last[id]
			// As Subscription derives it. A synced version stays synced:
			// the engine is asked only while one may still be coming.
			switch {
			case mk.err != "":
				mk.state = StateError
			case mk.torrentID == 0:
				mk.state = StateWaiting
			case seen && prev.state == StateSynced && prev.torrentID == mk.torrentID && prev.version == mk.version:
				mk.state = StateSynced
			default:
				mk.state = StateSynced
				if t, err := m.o.Engine.Get(strconv.FormatInt(mk.torrentID, 10)); err != nil || t.Done < s.bytes {
					mk.state = StateDownloading
				}
			}
		}
		marks[id] = mk
	}
	first := w.last == nil
	changed := !maps.Equal(w.last, marks)
	w.last = marks
	if !first && changed {
		if m.o.OnStatus != nil {
			m.o.OnStatus()
		} else {
			m.notify()
		}
	}
}
