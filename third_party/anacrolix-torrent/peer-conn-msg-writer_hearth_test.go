package torrent

// Hearth patch: regression test for the message writer's lost wake-up (see run in
// peer-conn-msg-writer.go). Not part of upstream; run it with `go test -race .` in this directory.

import (
	"bytes"
	"testing"
	"time"

	"github.com/anacrolix/chansync"
	"github.com/anacrolix/log"
	"github.com/anacrolix/sync"

	pp "github.com/anacrolix/torrent/peer_protocol"
)

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// TestMsgWriterWakesForChangeAfterFill: state that changes, with a tickle, after fillWriteBuffer
// released the client lock but before the writer goes to sleep must still be written. The change
// is made from keepAlive, which runs in exactly that window (it takes the client lock again, so a
// peer request server waiting for the lock gets in first). Before the patch the tickle was lost and
// the writer slept until its keep-alive timer (an hour here, a minute in the client).
func TestMsgWriterWakesForChangeAfterFill(t *testing.T) {
	var (
		closed  chansync.SetOnce
		mu      sync.Mutex // stands in for the client lock
		ready   bool       // stands in for a served request's data, guarded by mu
		changed bool
	)
	written := make(chan []byte, 1)
	w := &peerConnMsgWriter{
		closed: &closed,
		logger: log.Default,
		w: writerFunc(func(b []byte) (int, error) {
			select {
			case written <- bytes.Clone(b):
			default:
			}
			return len(b), nil
		}),
		writeBuffer: new(peerConnMsgWriterBuffer),
	}
	w.fillWriteBuffer = func() {
		mu.Lock()
		defer mu.Unlock()
		if ready {
			ready = false
			w.write(pp.Message{Type: pp.Unchoke})
		}
	}
	w.keepAlive = func() bool {
		mu.Lock()
		defer mu.Unlock()
		if !changed {
			changed = true
			ready = true
			w.writeCond.Broadcast() // what PeerConn.tickleWriter does
		}
		return false
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.run(time.Hour)
	}()
	t.Cleanup(func() {
		closed.Set()
		<-done
	})
	want := pp.Message{Type: pp.Unchoke}.MustMarshalBinary()
	select {
	case got := <-written:
		if !bytes.Equal(got, want) {
			t.Errorf("written %x, want %x", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("writer slept through a tickle made after fillWriteBuffer: nothing written in 10s")
	}
}
