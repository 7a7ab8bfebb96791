package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/engine/library"
)

func TestLibraryAPI(t *testing.T) {
	n := enginetest.StartNode(t, enginetest.NodeOptions{})
	lib, err := library.New(library.Options{Store: n.Store, Source: n.Engine})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler(Options{Engine: n.Engine, Library: lib, Logger: enginetest.Logger(t)}))
	t.Cleanup(srv.Close)
	d := &daemon{t: t, URL: srv.URL, Engine: n.Engine}

	tt := enginetest.MakeTorrent(t, t.TempDir(), "Trip", 16<<10, []enginetest.File{
		{Path: "Beach.mkv", Size: 40000}, {Path: "notes.pdf", Size: 100}, {Path: "beach-2.jpg", Size: 2000},
	})
	got, _, err := n.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Dir: tt.Dir})
	if err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, n.Engine, fmt.Sprint(got.ID), 30*time.Second, "verified", enginetest.Complete)
	if _, err := lib.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}

	var page library.Page
	d.json("GET", "/api/v1/library?q=BEACH", nil, http.StatusOK, &page)
	// Random bytes: the magic says nothing, the extensions decide.
	if len(page.Items) != 2 {
		t.Fatalf("q=BEACH: %+v, want 2 items", page.Items)
	}
	d.json("GET", fmt.Sprintf("/api/v1/library?kind=video&torrent=%s", got.InfoHash), nil, http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].Name != "Beach.mkv" || page.Items[0].Kind != library.KindVideo {
		t.Errorf("kind=video: %+v, want Beach.mkv", page.Items)
	}
	d.json("GET", "/api/v1/library?limit=2", nil, http.StatusOK, &page)
	if len(page.Items) != 2 || page.Next == "" {
		t.Fatalf("limit=2: %d items, next %q; want 2 and a cursor", len(page.Items), page.Next)
	}
	next := page.Next
	page = library.Page{}
	d.json("GET", "/api/v1/library?limit=2&cursor="+url.QueryEscape(next), nil, http.StatusOK, &page)
	if len(page.Items) != 1 || page.Next != "" {
		t.Errorf("second page: %d items, next %q; want 1 and no cursor", len(page.Items), page.Next)
	}
	for _, q := range []string{"kind=movie", "sort=size", "limit=0", "limit=x", "cursor=zz"} {
		code, b := d.do("GET", "/api/v1/library?"+q, "", nil)
		if code != http.StatusBadRequest {
			t.Errorf("GET /api/v1/library?%s = %d %s, want 400", q, code, b)
		}
	}
	if code, _ := d.do("GET", "/api/v1/library?torrent=999", "", nil); code != http.StatusNotFound {
		t.Errorf("unknown torrent = %d, want 404", code)
	}
}

// TestStreamOutlivesServerTimeouts: the daemon's server has read and write
// timeouts (2 min); a film streams for longer. Here the timeouts are 300 ms
// and the response takes seconds (a rate-limited download).
func TestStreamOutlivesServerTimeouts(t *testing.T) {
	d, id, src := streamSetup(t, true)
	srv := httptest.NewUnstartedServer(NewHandler(Options{Engine: d.Engine, Logger: enginetest.Logger(t)}))
	srv.Config.ReadTimeout = 300 * time.Millisecond
	srv.Config.WriteTimeout = 300 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/stream/%d/0", srv.URL, id), nil)
	req.Header.Set("Range", "bytes=2000000-2999999") // 1 MB at 400 KB/s
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read after %v: %v", time.Since(start), err)
	}
	if string(b) != string(src[2000000:3000000]) {
		t.Errorf("got %d bytes (took %v), want the 1000000 source bytes", len(b), time.Since(start))
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Logf("response faster than the timeouts (%v): the test proved nothing this time", time.Since(start))
	}
}
