// Package fresh shares an expensive read (a list of every torrent, built
// and encoded) between the callers that want it at the same time, without
// answering any caller with a read that began before it asked.
//
// A caller that arrives while a read runs does not join that read (it may
// have started before a change the caller just made, say a PATCH it sent a
// moment ago); it waits for the next one, which starts when the running one
// ends and serves everyone who arrived meanwhile. So at most one read runs
// at a time, a burst of N callers costs two reads, not N, and every answer
// is as fresh as an answer of its own would be.
package fresh

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
)

// Group runs reads of one kind. Its methods are safe for concurrent use.
// The value a read returns is shared by every caller it serves: they must
// not change it.
type Group[T any] struct {
	read func(ctx context.Context) (T, error)

	mu      sync.Mutex
	running bool       // a goroutine runs reads (run)
	next    *result[T] // the read callers join now; it has not started
}

// result is one read and the callers waiting for it.
type result[T any] struct {
	ctx     context.Context // ends when every caller has gone
	cancel  context.CancelFunc
	waiters int
	done    chan struct{} // closed when v and err are set
	v       T
	err     error
}

// New returns a group whose reads call read. The context given to read
// ends when every caller waiting for that read has given up.
func New[T any](read func(ctx context.Context) (T, error)) *Group[T] {
	return &Group[T]{read: read}
}

// Get returns the result of a read that begins after Get was called,
// shared with the other callers of that read. If ctx ends first, Get
// returns ctx's cause; the read goes on for the others, and is cancelled
// (or not started) when no one waits for it any more.
func (g *Group[T]) Get(ctx context.Context) (T, error) {
	g.mu.Lock()
	r := g.next
	if r == nil {
		r = &result[T]{done: make(chan struct{})}
		r.ctx, r.cancel = context.WithCancel(context.Background())
		g.next = r
	}
	r.waiters++
	if !g.running {
		g.running = true
		go g.run()
	}
	g.mu.Unlock()
	select {
	case <-r.done:
		return r.v, r.err
	case <-ctx.Done():
		g.mu.Lock()
		r.waiters--
		if r.waiters == 0 {
			r.cancel()
			if g.next == r {
				g.next = nil // not started: nobody wants it
			}
		}
		g.mu.Unlock()
		var zero T
		return zero, context.Cause(ctx)
	}
}

// run does the reads callers wait for, one after the other, until none is
// wanted.
func (g *Group[T]) run() {
	for {
		g.mu.Lock()
		r := g.next
		g.next = nil
		if r == nil {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		r.v, r.err = g.call(r.ctx)
		r.cancel()
		close(r.done)
	}
}

// call runs read and turns a panic into an error: it runs on a goroutine
// of its own, where a panic would end the daemon, not one request.
func (g *Group[T]) call(ctx context.Context) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("fresh: read panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return g.read(ctx)
}
