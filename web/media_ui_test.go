package web

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/channel"
	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/engine/library"
	"github.com/hearth-media/hearth/engine/store"
	"github.com/hearth-media/hearth/engine/thumb"
)

func jpegBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 100, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// mediaDaemon is an API server with channels, the library and thumbnails
// over a real engine.
type mediaDaemon struct {
	*daemon
	ch  *channel.Manager
	lib *library.Library
}

func startMediaDaemon(t *testing.T) *mediaDaemon {
	t.Helper()
	md := &mediaDaemon{}
	md.daemon = startDaemon(t, func(o *Options) {
		e := o.Engine.(*engine.Engine)
		st, err := store.Open(store.Options{Backend: store.BackendMemory})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		md.ch, err = channel.New(channel.Options{
			Engine: e, Store: st, Logger: enginetest.Logger(t),
			Dir:          filepath.Join(t.TempDir(), "channels"),
			DownloadDir:  func() string { return e.Settings().DownloadDir },
			PublishDelay: -1,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); md.ch.Serve(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		md.lib, err = library.New(library.Options{Store: st, Source: e})
		if err != nil {
			t.Fatal(err)
		}
		th, err := thumb.New(thumb.Options{Dir: t.TempDir(), Size: 64, LargeSize: 128})
		if err != nil {
			t.Fatal(err)
		}
		o.Channels, o.Library, o.Thumbs = md.ch, md.lib, th
	})
	return md
}

func (md *mediaDaemon) sync(t *testing.T) {
	t.Helper()
	if _, err := md.lib.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// fileIndex finds a file of a torrent by its path.
func fileIndex(t *testing.T, e *engine.Engine, id int64, p string) int {
	t.Helper()
	tor, err := e.Get(strconv.FormatInt(id, 10))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tor.Files {
		if f.Path == p || (f.Path == "" && tor.Name == p) {
			return f.Index
		}
	}
	t.Fatalf("torrent %d has no file %s: %+v", id, p, tor.Files)
	return 0
}

func TestLibraryChannelThumbProgress(t *testing.T) {
	md := startMediaDaemon(t)
	src := t.TempDir()
	files := map[string][]byte{"a.jpg": jpegBytes(t, 200, 100), "notes.txt": []byte("not a photo"), "film.mkv": bytes.Repeat([]byte("f"), 3000)}
	var paths []string
	for name, b := range files {
		p := filepath.Join(src, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	var ch channel.Channel
	md.json("POST", "/api/v1/channels", map[string]string{"name": "Family"}, http.StatusCreated, &ch)
	md.json("POST", "/api/v1/channels/Family/items", map[string]any{"paths": paths}, http.StatusOK, nil)
	md.json("POST", "/api/v1/channels/Family/publish", nil, http.StatusOK, &ch)
	if ch.TorrentID == 0 {
		t.Fatalf("published channel = %+v, want a torrent", ch)
	}
	enginetest.WaitFor(t, md.Engine, strconv.FormatInt(ch.TorrentID, 10), 30*time.Second, "seeding", enginetest.Complete)
	// Another torrent the channel filter must leave out.
	other := enginetest.MakeTorrent(t, t.TempDir(), "Other", 0, []enginetest.File{{Path: "other.jpg", Size: 1000}, {Path: "wait.jpg", Size: 1000}})
	ot, _, err := md.Engine.Add(context.Background(), engine.AddRequest{Metainfo: other.Metainfo, Paused: true})
	if err != nil {
		t.Fatal(err)
	}
	md.sync(t)

	var page library.Page
	md.json("GET", "/api/v1/library", nil, http.StatusOK, &page)
	inChannel := 0
	for _, it := range page.Items {
		if it.Torrent == ch.TorrentID {
			inChannel++
		}
	}
	if inChannel != 3 || len(page.Items) != 5 {
		t.Fatalf("library = %+v, want the channel's 3 files (no padding) and the other torrent's 2", page.Items)
	}
	md.json("GET", "/api/v1/library?channel=Family&kind=photo", nil, http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].Name != "a.jpg" || page.Items[0].Torrent != ch.TorrentID {
		t.Errorf("channel=Family&kind=photo = %+v, want a.jpg of the channel", page.Items)
	}
	md.json("GET", "/api/v1/library?channel=Family", nil, http.StatusOK, &page)
	if len(page.Items) != inChannel {
		t.Errorf("channel=Family = %d items, want %d", len(page.Items), inChannel)
	}
	md.json("GET", fmt.Sprintf("/api/v1/library?channel=Family&torrent=%d", ot.ID), nil, http.StatusOK, &page)
	if len(page.Items) != 0 {
		t.Errorf("channel=Family with another torrent = %d items, want none", len(page.Items))
	}
	md.json("GET", "/api/v1/library?channel=Nope", nil, http.StatusNotFound, nil)

	// Thumbnails.
	photo := fileIndex(t, md.Engine, ch.TorrentID, "a.jpg")
	resp, err := http.Get(fmt.Sprintf("%s/api/v1/library/thumb/%d/%d?size=small", md.URL, ch.TorrentID, photo))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("thumb = %d %s %s, want 200 image/jpeg", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Dx() != 64 || img.Bounds().Dy() != 32 {
		t.Errorf("thumb decodes to %v, %v; want 64x32", img.Bounds(), err)
	}
	// Large: the maker's LargeSize (128 here) on the long side.
	resp, err = http.Get(fmt.Sprintf("%s/api/v1/library/thumb/%d/%d?size=large", md.URL, ch.TorrentID, photo))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("large thumb = %d %s %s, want 200 image/jpeg", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	img, err = jpeg.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Dx() != 128 || img.Bounds().Dy() != 64 {
		t.Errorf("large thumb decodes to %v, %v; want 128x64", img.Bounds(), err)
	}
	txt := fileIndex(t, md.Engine, ch.TorrentID, "notes.txt")
	for _, tc := range []struct {
		path string
		code int
	}{
		{fmt.Sprintf("/api/v1/library/thumb/%d/%d", ch.TorrentID, txt), 404},                                 // not a photo
		{fmt.Sprintf("/api/v1/library/thumb/%d/%d?size=huge", ch.TorrentID, photo), 400},                     // bad size
		{fmt.Sprintf("/api/v1/library/thumb/%d/99", ch.TorrentID), 404},                                      // no such file
		{"/api/v1/library/thumb/9999/0", 404},                                                                // no such torrent
		{fmt.Sprintf("/api/v1/library/thumb/%d/%d", ot.ID, fileIndex(t, md.Engine, ot.ID, "wait.jpg")), 503}, // not downloaded
	} {
		resp, err := http.Get(md.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("GET %s = %d, want %d", tc.path, resp.StatusCode, tc.code)
		}
		if tc.code == 503 && resp.Header.Get("Retry-After") == "" {
			t.Errorf("GET %s: 503 without Retry-After", tc.path)
		}
	}

	// Continue watching.
	film := fileIndex(t, md.Engine, ch.TorrentID, "film.mkv")
	prog := fmt.Sprintf("/api/v1/library/progress/%d/%d", ch.TorrentID, film)
	code, body := md.do("PUT", prog, "application/json", strings.NewReader(`{"position": 125.5, "duration": 3600}`))
	if code != http.StatusOK || !strings.Contains(string(body), `"finished": false`) {
		t.Fatalf("PUT progress = %d %s, want 200, not finished", code, body)
	}
	var cont continueList
	md.json("GET", "/api/v1/library/continue?limit=5", nil, http.StatusOK, &cont)
	if len(cont.Items) != 1 || cont.Items[0].Name != "film.mkv" || cont.Items[0].Position != 125.5 || cont.Items[0].Duration != 3600 || cont.Items[0].Updated.IsZero() {
		t.Errorf("continue = %+v, want film.mkv at 125.5 of 3600", cont.Items)
	}
	for _, tc := range []struct {
		path, body string
		code       int
	}{
		{prog, `{"position": 10}`, 400},
		{prog, `{"position": -1, "duration": 10}`, 400},
		{prog, `{"position": 1, "duration": 10, "x": 1}`, 400},
		{fmt.Sprintf("/api/v1/library/progress/%d/99", ch.TorrentID), `{"position": 1, "duration": 10}`, 404},
		{"/api/v1/library/progress/9999/0", `{"position": 1, "duration": 10}`, 404},
		{prog, `{"position": 3500, "duration": 3600}`, 200}, // finished
	} {
		code, body := md.do("PUT", tc.path, "application/json", strings.NewReader(tc.body))
		if code != tc.code {
			t.Errorf("PUT %s %s = %d %s, want %d", tc.path, tc.body, code, body, tc.code)
		}
	}
	md.json("GET", "/api/v1/library/continue", nil, http.StatusOK, &cont)
	if len(cont.Items) != 0 {
		t.Errorf("continue after finishing = %+v, want nothing", cont.Items)
	}
	md.json("GET", "/api/v1/library/continue?limit=0", nil, http.StatusBadRequest, nil)
}
