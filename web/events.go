package web

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/web/access"
)

// Live updates for the web UI: GET /api/v1/events, Server-Sent Events
// (docs/api.md). One poller per daemon, whatever the number of open
// pages, asks the engine for its torrents once per second while anybody
// listens and stops when nobody does; each message is encoded once and
// shared by every subscriber. A subscriber whose queue is full (a client
// that stopped reading) is dropped, not buffered for: EventSource
// reconnects and gets a full list again.

// EventSource is what the events hub reads; *engine.Engine implements it.
type EventSource interface {
	List() []engine.Torrent
	Stats() engine.Stats
}

// Event kinds the hub sends besides torrents and stats; Notify takes them.
const (
	EventChannels = "channels" // a channel or subscription changed
	EventLibrary  = "library"  // the library index changed
	EventPairing  = "pairing"  // pending pairing requests changed
)

// EventsOptions configure NewEvents.
type EventsOptions struct {
	Source EventSource // required
	// Pairing lists the pending pairing requests for "pairing" events;
	// nil sends none. (*access.Controller).PendingPairings fits.
	Pairing func() []access.PairRequest
	Logger  *slog.Logger
	// Every is the poll interval; 0 means one second. Stats go out every
	// second poll.
	Every time.Duration
	// Queue bounds each subscriber's unsent messages; 0 means 32.
	Queue int
}

// Events is the hub behind GET /api/v1/events. Safe for concurrent use.
type Events struct {
	o   EventsOptions
	log *slog.Logger

	mu   sync.Mutex
	subs map[*subscriber]bool
	run  *pollRun // nil while nobody listens
	note map[string]bool
}

type subscriber struct {
	c       chan []byte // encoded messages; closed when dropped
	full    bool        // still waits for its first, full list
	dropped bool
}

type pollRun struct {
	stop chan struct{}
	kick chan struct{}
}

// NewEvents returns a hub; it polls only while someone subscribes.
func NewEvents(o EventsOptions) *Events {
	if o.Every <= 0 {
		o.Every = time.Second
	}
	if o.Queue <= 0 {
		o.Queue = 32
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Events{o: o, log: o.Logger.With("component", "events"), subs: map[*subscriber]bool{}, note: map[string]bool{}}
}

// Notify tells subscribers that something of kind (EventChannels,
// EventLibrary, EventPairing) changed. It never blocks: notes are
// coalesced and sent with the next poll. Without subscribers it does
// nothing.
func (h *Events) Notify(kind string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.run == nil {
		return
	}
	h.note[kind] = true
	select {
	case h.run.kick <- struct{}{}:
	default:
	}
}

// AccessEvent is access.Options.OnEvent's shape: pairing requests that
// arrive or end become "pairing" events.
func (h *Events) AccessEvent(e access.Event) {
	switch e.Kind {
	case access.EventPairRequest, access.EventPaired, access.EventPairEnded, access.EventWindowOpen, access.EventWindowClosed:
		h.Notify(EventPairing)
	}
}

// MaxEventStreams bounds the event streams open at once: each holds a
// connection, a goroutine and a queue. A household's phones, TVs and
// browser tabs need a handful; past it a client gets 503, and the UI
// polls instead (api.js falls back when the stream fails).
const MaxEventStreams = 32

// subscribe adds a subscriber, starting the poller if it is the first;
// nil when MaxEventStreams are open.
func (h *Events) subscribe() *subscriber {
	s := &subscriber{c: make(chan []byte, h.o.Queue), full: true}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) >= MaxEventStreams {
		return nil
	}
	h.subs[s] = true
	if h.run == nil {
		h.run = &pollRun{stop: make(chan struct{}), kick: make(chan struct{}, 1)}
		go h.poll(h.run)
	}
	select {
	case h.run.kick <- struct{}{}: // its full list now, not in a second
	default:
	}
	return s
}

// unsubscribe removes s, stopping the poller after the last one.
func (h *Events) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dropLocked(s)
	if len(h.subs) == 0 && h.run != nil {
		close(h.run.stop)
		h.run = nil
		clear(h.note)
	}
}

func (h *Events) dropLocked(s *subscriber) {
	if !h.subs[s] {
		return
	}
	delete(h.subs, s)
	if !s.dropped {
		s.dropped = true
		close(s.c)
	}
}

// Subscribers is how many streams are open.
func (h *Events) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// torrentsEvent is the data of a "torrents" event.
type torrentsEvent struct {
	Torrents []json.RawMessage `json:"torrents"`
	Removed  []int64           `json:"removed"`
	Full     bool              `json:"full"`
}

// pairingEvent is the data of a "pairing" event.
type pairingEvent struct {
	Pending []access.PairRequest `json:"pending"`
}

// poll runs while r is the current run.
func (h *Events) poll(r *pollRun) {
	t := time.NewTicker(h.o.Every)
	defer t.Stop()
	seen := map[int64]uint64{} // torrent id → hash of its JSON last sent
	tick := 0
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			tick++
			h.step(r, seen, true, tick%2 == 0)
		case <-r.kick:
			h.step(r, seen, false, false)
		}
	}
}

// step polls once and sends what changed. A kick for a note alone does
// not ask the engine; one for a new subscriber does, and sends the others
// what changed since the last poll, so that every diff is against what
// each subscriber has.
func (h *Events) step(r *pollRun, seen map[int64]uint64, tick, stats bool) {
	h.mu.Lock()
	if h.run != r {
		h.mu.Unlock()
		return
	}
	notes := make([]string, 0, len(h.note))
	for k := range h.note {
		notes = append(notes, k)
	}
	clear(h.note)
	wantFull := false
	for s := range h.subs {
		wantFull = wantFull || s.full
	}
	h.mu.Unlock()
	slices.Sort(notes)

	var full, diff []byte
	var statsMsg []byte
	if tick || wantFull {
		list := h.o.Source.List()
		all := make([]json.RawMessage, 0, len(list))
		var changed []json.RawMessage
		live := make(map[int64]bool, len(list))
		for i := range list {
			b, err := json.Marshal(&list[i])
			if err != nil {
				continue
			}
			all = append(all, b)
			id := list[i].ID
			live[id] = true
			f := fnv.New64a()
			f.Write(b)
			sum := f.Sum64()
			if old, ok := seen[id]; !ok || old != sum {
				changed = append(changed, b)
			}
			seen[id] = sum
		}
		var removed []int64
		for id := range seen {
			if !live[id] {
				removed = append(removed, id)
				delete(seen, id)
			}
		}
		slices.Sort(removed)
		if wantFull {
			full = sse("torrents", torrentsEvent{Torrents: all, Removed: []int64{}, Full: true})
			statsMsg = sse("stats", h.o.Source.Stats())
		}
		if len(changed) > 0 || len(removed) > 0 {
			if changed == nil {
				changed = []json.RawMessage{}
			}
			if removed == nil {
				removed = []int64{}
			}
			diff = sse("torrents", torrentsEvent{Torrents: changed, Removed: removed})
		}
	}
	var everyone [][]byte
	if stats {
		everyone = append(everyone, sse("stats", h.o.Source.Stats()))
	}
	for _, n := range notes {
		if n == EventPairing {
			if h.o.Pairing == nil {
				continue
			}
			p := h.o.Pairing()
			if p == nil {
				p = []access.PairRequest{}
			}
			everyone = append(everyone, sse(n, pairingEvent{Pending: p}))
			continue
		}
		everyone = append(everyone, sse(n, struct{}{}))
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.run != r {
		return
	}
	for s := range h.subs {
		var msgs [][]byte
		switch {
		case s.full && full != nil:
			// The full list is as of this poll: the diff of this poll
			// is already in it.
			msgs = append(msgs, full, statsMsg)
			s.full = false
		case s.full:
			continue // it subscribed during this poll: next kick
		case diff != nil:
			msgs = append(msgs, diff)
		}
		msgs = append(msgs, everyone...)
		for _, m := range msgs {
			select {
			case s.c <- m:
			default:
				// It stopped reading: drop it rather than queue more.
				h.log.Debug("events subscriber too slow; dropped")
				h.dropLocked(s)
			}
			if s.dropped {
				break
			}
		}
	}
	if len(h.subs) == 0 && h.run == r {
		close(r.stop)
		h.run = nil
	}
}

// sse encodes one Server-Sent Event.
func sse(event string, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte("{}")
	}
	var buf bytes.Buffer
	buf.Grow(len(b) + len(event) + 16)
	buf.WriteString("event: ")
	buf.WriteString(event)
	buf.WriteString("\ndata: ")
	buf.Write(b) // JSON has no raw newlines
	buf.WriteString("\n\n")
	return buf.Bytes()
}

// pingEvery keeps proxies and NAT from closing an idle stream.
const pingEvery = 15 * time.Second

// eventsWriteTimeout ends a stream whose client stopped reading.
const eventsWriteTimeout = 30 * time.Second

// getEvents: GET /api/v1/events.
func (a *api) getEvents(w http.ResponseWriter, r *http.Request) error {
	h := a.events
	s := h.subscribe()
	if s == nil {
		w.Header().Set("Retry-After", "30")
		return errorf(http.StatusServiceUnavailable, "%d event streams are open already; poll instead", MaxEventStreams)
	}
	defer h.unsubscribe(s)
	rc := http.NewResponseController(w)
	// The stream outlives the server's read and write timeouts; each
	// write gets its own deadline instead.
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	write := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(eventsWriteTimeout))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write([]byte("retry: 3000\n\n")) {
		return nil
	}
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case m, ok := <-s.c:
			if !ok {
				return nil // dropped: the client reconnects
			}
			if !write(m) {
				return nil
			}
		case <-ping.C:
			if !write([]byte(": ping\n\n")) {
				return nil
			}
		}
	}
}
