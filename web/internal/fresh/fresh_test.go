package fresh

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waiters returns how many callers wait for the read that has not started.
func (g *Group[T]) waiters() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.next == nil {
		return 0
	}
	return g.next.waiters
}

// waitFor polls cond; the deadline only catches hangs.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
	}
}

// gatedReads is a read that returns how many reads began, each one held
// until the test lets it go.
type gatedReads struct {
	n       atomic.Int64
	started chan int64
	release chan struct{}
}

func newGatedReads() *gatedReads {
	return &gatedReads{started: make(chan int64, 16), release: make(chan struct{})}
}

func (r *gatedReads) read(ctx context.Context) (int64, error) {
	n := r.n.Add(1)
	r.started <- n
	select {
	case <-r.release:
		return n, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// TestBurstSharesNextRead: callers that arrive while a read runs all get
// the next read, one for all of them, never the read that was running.
func TestBurstSharesNextRead(t *testing.T) {
	r := newGatedReads()
	g := New(r.read)
	first := make(chan int64, 1)
	go func() {
		v, _ := g.Get(context.Background())
		first <- v
	}()
	if n := <-r.started; n != 1 {
		t.Fatalf("first read = %d, want 1", n)
	}
	const burst = 20
	got := make([]int64, burst)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := g.Get(context.Background())
			if err != nil {
				t.Errorf("Get: %v", err)
			}
			got[i] = v
		}()
	}
	waitFor(t, "the burst waiting", func() bool { return g.waiters() == burst })
	r.release <- struct{}{}
	if v := <-first; v != 1 {
		t.Errorf("first caller got read %d, want 1", v)
	}
	if n := <-r.started; n != 2 {
		t.Fatalf("second read = %d, want 2", n)
	}
	r.release <- struct{}{}
	wg.Wait()
	for i, v := range got {
		if v != 2 {
			t.Errorf("burst caller %d got read %d, want 2 (the read after its call)", i, v)
		}
	}
	if n := r.n.Load(); n != 2 {
		t.Errorf("reads = %d, want 2 for 1 + %d callers", n, burst)
	}
	waitFor(t, "the reading goroutine to end", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return !g.running
	})
}

// TestSequentialCallsReadAgain: a caller after another has its answer
// gets a read of its own.
func TestSequentialCallsReadAgain(t *testing.T) {
	var n atomic.Int64
	g := New(func(context.Context) (int64, error) { return n.Add(1), nil })
	for want := int64(1); want <= 3; want++ {
		if v, err := g.Get(context.Background()); v != want || err != nil {
			t.Fatalf("Get = %d, %v, want %d, nil", v, err, want)
		}
	}
}

// TestCallerGivesUp: a caller whose context ends gets its cause at once;
// a read that no one waits for any more is cancelled, and one that has
// not started never starts.
func TestCallerGivesUp(t *testing.T) {
	r := newGatedReads()
	g := New(r.read)
	ctx1, cancel1 := context.WithCancelCause(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := g.Get(ctx1)
		errc <- err
	}()
	<-r.started
	// A second caller waits for the next read, then gives up too.
	ctx2, cancel2 := context.WithCancel(context.Background())
	errc2 := make(chan error, 1)
	go func() {
		_, err := g.Get(ctx2)
		errc2 <- err
	}()
	waitFor(t, "the second caller waiting", func() bool { return g.waiters() == 1 })
	cancel2()
	if err := <-errc2; !errors.Is(err, context.Canceled) {
		t.Errorf("second caller's Get = %v, want context.Canceled", err)
	}
	gone := errors.New("client went away")
	cancel1(gone)
	if err := <-errc; !errors.Is(err, gone) {
		t.Errorf("first caller's Get = %v, want its context's cause", err)
	}
	// The running read sees its context end (no release is sent).
	waitFor(t, "the abandoned read to end", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return !g.running
	})
	if n := r.n.Load(); n != 1 {
		t.Errorf("reads = %d, want 1: the second caller's read was not wanted any more", n)
	}
}

// TestPanicIsAnError: a read that panics answers its callers with an
// error, and the group goes on working.
func TestPanicIsAnError(t *testing.T) {
	var n atomic.Int64
	g := New(func(context.Context) (int64, error) {
		if n.Add(1) == 1 {
			panic("boom")
		}
		return n.Load(), nil
	})
	if _, err := g.Get(context.Background()); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("Get of a panicking read = %v, want an error naming the panic", err)
	}
	if v, err := g.Get(context.Background()); v != 2 || err != nil {
		t.Errorf("Get after the panic = %d, %v, want 2, nil", v, err)
	}
}
