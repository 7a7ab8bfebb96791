package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/engine/store"
	"github.com/hearth-media/hearth/web/internal/webtest"
)

// TestListTorrentsEncoding: the list, encoded torrent by torrent, is
// json.Marshal of the whole list (compact, HTML-safe escaping), with a
// final newline.
func TestListTorrentsEncoding(t *testing.T) {
	at := time.Date(2026, 11, 25, 1, 2, 3, 456, time.UTC)
	odd := engine.Torrent{
		ID: 7, InfoHash: strings.Repeat("ab", 20), Name: "<Films & \"Séries\">\n\u2028", State: engine.StateError,
		Error: "disk full", Dir: "/srv/dl", Magnet: "magnet:?xt=urn:btih:abab&dn=%3CFilms", Labels: []string{"a", "b<"},
		Finished: true, Private: true, HasMetadata: true, Size: 1 << 40, WantedSize: 3, Done: 1, Progress: 1.0 / 3,
		Ratio: 1e-7, DownRate: 1, UpRate: 2, ETA: -1, AddedAt: at, DoneAt: at, LastActivity: at, StartedAt: at, EditedAt: at,
		Options: engine.TorrentOptions{DownloadKBps: 5, SeedRatio: -1, SeedIdle: time.Hour, Sequential: true},
	}
	plain := engine.Torrent{ID: 8, Name: "plain", State: engine.StateQueued, AddedAt: at}
	for _, list := range [][]engine.Torrent{nil, {plain}, {odd, plain, odd}} {
		want, err := json.Marshal(torrentList{Torrents: append([]engine.Torrent{}, list...)})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		var got bytes.Buffer
		if err := encodeList(&got, list); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("encodeList(%d torrents) =\n%s\nwant\n%s", len(list), got.Bytes(), want)
		}
	}
}

// TestListTorrentsSeesChanges: GET /api/v1/torrents answers are shared
// by the requests that arrive together, yet each shows every change made
// before it was sent: here 10 clients each PATCH their torrent's upload
// limit and then list, 5 times over, with others listing all the while.
func TestListTorrentsSeesChanges(t *testing.T) {
	d := startDaemon(t)
	enginetest.AddMany(t, d.Engine, 10)
	stop := make(chan struct{})
	var bg sync.WaitGroup
	for range 4 {
		bg.Add(1)
		go func() {
			defer bg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var l torrentList
				d.json("GET", "/api/v1/torrents", nil, http.StatusOK, &l)
			}
		}()
	}
	var wg sync.WaitGroup
	for c := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := int64(1 + c)
			for round := range 5 {
				limit := 100*(round+1) + c
				d.json("PATCH", fmt.Sprintf("/api/v1/torrents/%d", id), map[string]any{"options": map[string]any{"uploadKBps": limit}}, http.StatusOK, nil)
				var l torrentList
				d.json("GET", "/api/v1/torrents", nil, http.StatusOK, &l)
				found := false
				for _, tr := range l.Torrents {
					if tr.ID == id {
						found = true
						if tr.Options.UploadKBps != limit {
							t.Errorf("torrent %d in the list after PATCH %d: uploadKBps = %d, want %d", id, limit, tr.Options.UploadKBps, limit)
						}
					}
				}
				if !found || len(l.Torrents) != 10 {
					t.Errorf("list after PATCH: %d torrents, torrent %d there: %v; want 10 with it", len(l.Torrents), id, found)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	bg.Wait()
}

// BenchmarkListTorrents is GET /api/v1/torrents of 1,000 torrents (the
// router profile's queue limits: 2 downloads, 5 seeds, the rest wait; a
// store in memory, which lists do not read):
// bytes/op is what one refresh of the UI's list leaves to the garbage
// collector.
func BenchmarkListTorrents(b *testing.B) {
	node := enginetest.StartNode(b, enginetest.NodeOptions{Backend: store.BackendMemory, Config: func(c *config.Config) {
		c.Queue.MaxDownloads, c.Queue.MaxSeeds = 2, 5
	}})
	enginetest.AddMany(b, node.Engine, 1000)
	h := NewHandler(Options{Engine: node.Engine})
	webtest.BenchServe(b, h, func() *http.Request {
		req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/api/v1/torrents", nil)
		req.RemoteAddr = "127.0.0.1:40000"
		return req
	})
}
