package transmission

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/web"
)

// rpcAnswer is one request's outcome, from a goroutine.
type rpcAnswer struct {
	body string
	err  error
}

// postAsync sends body with the session id in the background; t.Fatal is
// not allowed off the test's goroutine, so errors come back in the answer.
func (s *rpcServer) postAsync(ctx context.Context, body string) <-chan rpcAnswer {
	out := make(chan rpcAnswer, 1)
	go func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, strings.NewReader(body))
		if err != nil {
			out <- rpcAnswer{err: err}
			return
		}
		req.Header.Set(HeaderSessionID, s.sid)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- rpcAnswer{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("HTTP %d %s", resp.StatusCode, b)
		}
		out <- rpcAnswer{body: string(b), err: err}
	}()
	return out
}

// await returns the answer, failing the test if none comes within a minute.
func await(t *testing.T, what string, c <-chan rpcAnswer) rpcAnswer {
	t.Helper()
	select {
	case a := <-c:
		return a
	case <-time.After(time.Minute):
		t.Fatalf("%s: no answer within a minute", what)
		return rpcAnswer{}
	}
}

func TestTorrentGetTakesListSlot(t *testing.T) {
	lim := web.NewListLimiter(1)
	var calls atomic.Int32
	arrived := make(chan int32, 16) // a torrent-get asks for a slot
	gaveUp := make(chan error, 16)  // a wait ended without a slot
	firstHolds := make(chan struct{})
	unblock := make(chan struct{})
	s := startRPC(t, func(o *Options) {
		o.ListLimiter = func(ctx context.Context) (func(), error) {
			n := calls.Add(1)
			arrived <- n
			release, err := lim.Acquire(ctx)
			if err != nil {
				gaveUp <- err
				return nil, err
			}
			if n == 1 {
				// The first list holds its slot until the test lets go.
				close(firstHolds)
				<-unblock
			}
			return release, nil
		}
	})
	// A failing test must not leave the first request blocked: the
	// server's Close would wait for it.
	var unblockOnce sync.Once
	letGo := func() { unblockOnce.Do(func() { close(unblock) }) }
	t.Cleanup(letGo)
	tt := enginetest.MakeTorrent(t, t.TempDir(), "limited", 0, threeFiles[:1])
	added := s.ok("torrent-add", map[string]any{"metainfo": base64.StdEncoding.EncodeToString(tt.Metainfo), "paused": true, "download-dir": t.TempDir()})
	id := num(added["torrent-added"].(map[string]any)["id"])
	if n := calls.Load(); n != 0 {
		t.Fatalf("limiter calls after torrent-add = %d, want 0", n)
	}

	ctx := t.Context()
	all := `{"method":"torrent-get","arguments":{"fields":["id","name"]}}`
	first := s.postAsync(ctx, all)
	select {
	case <-firstHolds:
	case a := <-first:
		t.Fatalf("first torrent-get answered %q, %v without the hook blocking it", a.body, a.err)
	}
	<-arrived

	second := s.postAsync(ctx, all)
	if n := <-arrived; n != 2 {
		t.Fatalf("limiter call = %d, want 2", n)
	}
	// Only a wrong answer can show here; a slow machine just waits less.
	select {
	case a := <-second:
		t.Fatalf("second torrent-get answered %q, %v while the only slot was held", a.body, a.err)
	case <-time.After(200 * time.Millisecond):
	}

	// Other methods, and a torrent-get of a few ids, do not wait.
	for _, body := range []string{
		`{"method":"session-get","arguments":{"fields":["version"]}}`,
		`{"method":"session-stats"}`,
		fmt.Sprintf(`{"method":"torrent-get","arguments":{"fields":["id"],"ids":[%d]}}`, id),
	} {
		a := await(t, body, s.postAsync(ctx, body))
		if a.err != nil || !strings.Contains(a.body, `"result":"success"`) {
			t.Fatalf("%s while the slot was held = %q, %v, want success", body, a.body, a.err)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("limiter calls = %d, want 2 (small requests take no slot)", n)
	}

	// A client that gives up stops the wait.
	cctx, cancel := context.WithCancel(ctx)
	third := s.postAsync(cctx, `{"method":"torrent-get","arguments":{"fields":["id"],"ids":"recently-active"}}`)
	<-arrived
	cancel()
	if a := await(t, "cancelled torrent-get", third); a.err == nil {
		t.Fatalf("cancelled torrent-get = %q, want a client error", a.body)
	}
	select {
	case err := <-gaveUp:
		if err == nil {
			t.Fatal("wait ended with a nil error")
		}
	case <-time.After(time.Minute):
		t.Fatal("the server still waits for a slot for a client that left")
	}

	letGo()
	for i, c := range []<-chan rpcAnswer{first, second} {
		a := await(t, fmt.Sprintf("torrent-get %d", i+1), c)
		if a.err != nil || !strings.Contains(a.body, `"name":"limited"`) {
			t.Fatalf("torrent-get %d = %q, %v, want the torrent", i+1, a.body, a.err)
		}
	}

	// A batch of big torrent-gets takes one slot, not one each: with one
	// slot it would otherwise wait for itself.
	before := calls.Load()
	batch := `[{"jsonrpc":"2.0","method":"torrent_get","params":{"fields":["id"]},"id":1},` +
		`{"jsonrpc":"2.0","method":"torrent_get","params":{"fields":["name"]},"id":2}]`
	a := await(t, "batch", s.postAsync(ctx, batch))
	var items []map[string]any
	if err := json.Unmarshal([]byte(a.body), &items); a.err != nil || err != nil || len(items) != 2 || items[0]["result"] == nil || items[1]["result"] == nil {
		t.Fatalf("batch = %q, %v, want two results", a.body, a.err)
	}
	if n := calls.Load() - before; n != 1 {
		t.Fatalf("limiter calls for a batch = %d, want 1", n)
	}

	// Every slot is back.
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	release, err := lim.Acquire(wctx)
	if err != nil {
		t.Fatalf("Acquire after all answers: %v, want the slot", err)
	}
	release()
}
