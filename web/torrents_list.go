package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/web/internal/fresh"
)

// GET /api/v1/torrents is the heaviest answer the daemon gives: on a box
// with 1,000 torrents it is about 900 KB of JSON, and a UI or script may
// ask for it every second or two, several at once. On a router-profile
// daemon (40 MiB) that must cost neither memory nor CPU per caller:
//
//   - requests that arrive together share one answer: the answer is
//     built by a fresh.Group, so a burst of 50 builds it twice, not 50
//     times, and no one gets an answer begun before its request (a PATCH
//     followed by a GET sees its change);
//   - building takes a slot of the ListLimiter, shared with the
//     Transmission RPC's big torrent-gets, so at most two full lists are
//     in memory at once;
//   - the answer is encoded torrent by torrent, compact, into one buffer
//     sized from the last answer, not as one json.MarshalIndent of the
//     whole list (which builds it twice and grows both by copying).

// torrentList is the body of GET /api/v1/torrents.
type torrentList struct {
	Torrents []engine.Torrent `json:"torrents"`
}

// listAnswer is one encoded GET /api/v1/torrents body, shared by the
// requests it answers: read only.
type listAnswer struct {
	body []byte
}

// maxConcurrentLists is how many full torrent lists are built and encoded
// at once: GET /api/v1/torrents builds one at a time (its answers are
// shared), the RPC's big torrent-gets take the other slot. With 1,000
// torrents a list is about 1.2 MB of structs and JSON to build and the
// work is CPU-bound: with 50 clients each building its own, a
// router-profile daemon answered in 1 s at the median, in GC under its
// memory limit (TestReliabilityLoad, full form).
const maxConcurrentLists = 2

// ListLimiter bounds how many full torrent lists are built and encoded at
// once, across GET /api/v1/torrents and the Transmission RPC's
// torrent-get (see maxConcurrentLists). Safe for concurrent use.
type ListLimiter struct {
	slots chan struct{}
}

// NewListLimiter returns a limiter with n slots; n < 1 means the default,
// two.
func NewListLimiter(n int) *ListLimiter {
	if n < 1 {
		n = maxConcurrentLists
	}
	return &ListLimiter{slots: make(chan struct{}, n)}
}

// Acquire waits for a slot, or until ctx is done (the client went away):
// then it returns ctx's error. Call release once when the list is written.
func (l *ListLimiter) Acquire(ctx context.Context) (release func(), err error) {
	select {
	case l.slots <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-l.slots }) }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a list slot: %w", context.Cause(ctx))
	}
}

func (a *api) listTorrents(w http.ResponseWriter, r *http.Request) error {
	ans, err := a.torrentLists.answers.Get(r.Context())
	if err != nil {
		if r.Context().Err() != nil {
			return errorf(http.StatusServiceUnavailable, "request cancelled")
		}
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(ans.body)))
	w.WriteHeader(http.StatusOK)
	w.Write(ans.body)
	return nil
}

// listBuilder makes GET /api/v1/torrents answers.
type listBuilder struct {
	eng     Engine
	lim     *ListLimiter
	answers *fresh.Group[*listAnswer]
	// lastSize is the size of the last answer: the next one's buffer
	// starts a little bigger, so it is not grown (and copied) while
	// encoding.
	lastSize atomic.Int64
}

func newListBuilder(eng Engine, lim *ListLimiter) *listBuilder {
	b := &listBuilder{eng: eng, lim: lim}
	b.answers = fresh.New(b.build)
	return b
}

// build makes one answer (the fresh.Group's read).
func (b *listBuilder) build(ctx context.Context) (*listAnswer, error) {
	release, err := b.lim.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	var buf bytes.Buffer
	buf.Grow(int(b.lastSize.Load()) * 9 / 8)
	if err := encodeList(&buf, b.eng.List()); err != nil {
		return nil, err
	}
	b.lastSize.Store(int64(buf.Len()))
	return &listAnswer{body: buf.Bytes()}, nil
}

// encodeList writes {"torrents": list} and a newline, one torrent at a
// time. It is compact, unlike the API's other answers: indenting 1,000
// torrents made the answer a third bigger and took twice the CPU time of
// encoding them (BenchmarkListTorrents).
func encodeList(buf *bytes.Buffer, list []engine.Torrent) error {
	buf.WriteString(`{"torrents":[`)
	enc := json.NewEncoder(buf)
	for i := range list {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := enc.Encode(&list[i]); err != nil {
			return fmt.Errorf("encode torrent %d: %w", list[i].ID, err)
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
	}
	buf.WriteString("]}\n")
	return nil
}
