package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/channel"
	"github.com/hearth-media/hearth/engine/library"
	"github.com/hearth-media/hearth/engine/thumb"
)

// Library answers media queries and keeps continue-watching positions;
// *library.Library implements it.
type Library interface {
	Find(q library.Query) (library.Page, error)
	SetProgress(torrent int64, index int, position, duration float64) error
	Continue(limit int) ([]library.Watching, error)
}

var _ Library = (*library.Library)(nil)

// mediaRoutes: streaming (stream.go) and the library (docs/media.md).
func (a *api) mediaRoutes() {
	a.mux.Handle("GET /stream/{ref}/{index}", a.h(a.stream))
	a.mux.Handle("HEAD /stream/{ref}/{index}", a.h(a.stream))
	a.mux.Handle("GET /api/v1/library", a.h(a.getLibrary))
	a.mux.Handle("GET /api/v1/library/continue", a.h(a.getContinue))
	a.mux.Handle("PUT /api/v1/library/progress/{torrent}/{index}", a.h(a.putProgress))
	a.mux.Handle("GET /api/v1/library/thumb/{torrent}/{index}", a.h(a.getThumb))
	a.mux.Handle("GET /api/v1/torrents/{ref}/files/{index}/stream-url", a.h(a.getStreamURL))
}

// getLibrary: GET /api/v1/library?kind=&q=&torrent=&channel=&sort=added|taken&limit=&cursor=
func (a *api) getLibrary(w http.ResponseWriter, r *http.Request) error {
	if a.library == nil {
		return errorf(http.StatusNotFound, "the library is not enabled")
	}
	v := r.URL.Query()
	q := library.Query{
		Kind:   library.Kind(v.Get("kind")),
		Text:   v.Get("q"),
		Sort:   v.Get("sort"),
		Cursor: v.Get("cursor"),
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return errorf(http.StatusBadRequest, "limit must be 1 to 1000")
		}
		q.Limit = n
	}
	if s := v.Get("torrent"); s != "" {
		t, err := a.eng.Get(s)
		if err != nil {
			return err
		}
		q.Torrent = t.ID
	}
	if name := v.Get("channel"); name != "" {
		id, err := a.channelTorrent(name)
		if err != nil {
			return err
		}
		if id == 0 || (q.Torrent != 0 && q.Torrent != id) {
			// No version downloaded yet, or another torrent asked for.
			writeJSON(w, http.StatusOK, library.Page{Items: []library.Item{}})
			return nil
		}
		q.Torrent = id
	}
	if len(q.Text) > 200 {
		return errorf(http.StatusBadRequest, "q is longer than 200 bytes")
	}
	p, err := a.library.Find(q)
	if errors.Is(err, library.ErrBadQuery) {
		return errorf(http.StatusBadRequest, "%s", err.Error())
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// channelTorrent resolves a channel name to the torrent of its current
// version: an owned channel first, then a subscription (by name or id).
// 0 means the channel has no version in the engine yet.
func (a *api) channelTorrent(name string) (int64, error) {
	if a.channels == nil {
		return 0, errorf(http.StatusNotFound, "channels are not enabled")
	}
	if len(name) > 200 {
		return 0, errorf(http.StatusBadRequest, "channel is longer than 200 bytes")
	}
	if c, err := a.channels.Channel(name); err == nil {
		return c.TorrentID, nil
	} else if !errors.Is(err, channel.ErrNotFound) {
		return 0, err
	}
	s, err := a.channels.Subscription(name)
	if errors.Is(err, channel.ErrNotFound) {
		return 0, errorf(http.StatusNotFound, "no channel or subscription %q", name)
	}
	if err != nil {
		return 0, err
	}
	return s.TorrentID, nil
}

// libraryLimit parses a limit parameter: 1..max, or def when absent.
func libraryLimit(v string, def, max int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, errorf(http.StatusBadRequest, "limit must be 1 to %d", max)
	}
	return n, nil
}

// continueList is the body of GET /api/v1/library/continue.
type continueList struct {
	Items []library.Watching `json:"items"`
}

// getContinue: GET /api/v1/library/continue?limit= — files a player
// stopped in before the end, newest first.
func (a *api) getContinue(w http.ResponseWriter, r *http.Request) error {
	if a.library == nil {
		return errorf(http.StatusNotFound, "the library is not enabled")
	}
	n, err := libraryLimit(r.URL.Query().Get("limit"), 20, library.MaxProgress)
	if err != nil {
		return err
	}
	items, err := a.library.Continue(n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, continueList{Items: items})
	return nil
}

// progressBody is the body of PUT /api/v1/library/progress/{torrent}/{index}.
type progressBody struct {
	Position *float64 `json:"position"` // seconds
	Duration *float64 `json:"duration"` // seconds
}

// libraryFile resolves {torrent} (id or infohash) and {index}.
func (a *api) libraryFile(r *http.Request) (engine.Torrent, int, error) {
	ref := r.PathValue("torrent")
	t, err := a.eng.Get(ref)
	if errors.Is(err, engine.ErrNotFound) {
		return t, 0, &httpError{Code: http.StatusNotFound, Msg: fmt.Sprintf("torrent %s not found", ref), Err: err}
	}
	if err != nil {
		return t, 0, err
	}
	index, err := strconv.Atoi(r.PathValue("index"))
	if err != nil || index < 0 || index >= len(t.Files) {
		return t, 0, errorf(http.StatusNotFound, "no file %q in torrent %d", r.PathValue("index"), t.ID)
	}
	return t, index, nil
}

// putProgress: PUT /api/v1/library/progress/{torrent}/{index} {"position", "duration"}.
func (a *api) putProgress(w http.ResponseWriter, r *http.Request) error {
	if a.library == nil {
		return errorf(http.StatusNotFound, "the library is not enabled")
	}
	var b progressBody
	if err := decodeJSON(w, r, 4<<10, &b); err != nil {
		return err
	}
	if b.Position == nil || b.Duration == nil {
		return errorf(http.StatusBadRequest, "send {\"position\": seconds, \"duration\": seconds}")
	}
	t, index, err := a.libraryFile(r)
	if err != nil {
		return err
	}
	err = a.library.SetProgress(t.ID, index, *b.Position, *b.Duration)
	switch {
	case errors.Is(err, library.ErrBadQuery):
		return errorf(http.StatusBadRequest, "position %v of duration %v: want 0 <= position, 0 < duration, both at most a week in seconds", *b.Position, *b.Duration)
	case errors.Is(err, library.ErrNoItem):
		return errorf(http.StatusNotFound, "file %d of torrent %d is not in the library yet", index, t.ID)
	case err != nil:
		return err
	}
	pos := min(*b.Position, *b.Duration)
	writeJSON(w, http.StatusOK, progressAnswer{Torrent: t.ID, Index: index, Position: pos, Duration: *b.Duration,
		Finished: pos >= library.FinishedAt**b.Duration})
	return nil
}

// progressAnswer is the answer to PUT /api/v1/library/progress/….
type progressAnswer struct {
	Torrent  int64   `json:"torrent"`
	Index    int     `json:"index"`
	Position float64 `json:"position"`
	Duration float64 `json:"duration"`
	Finished bool    `json:"finished"` // forgotten: it left continue watching
}

// thumbTypes are the photo types engine/thumb decodes.
var thumbTypes = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".gif": true}

// thumbRetry is the Retry-After of a thumbnail of a file still downloading.
const thumbRetry = 10 * time.Second

// getThumb: GET /api/v1/library/thumb/{torrent}/{index}?size=small|large —
// a JPEG thumbnail made by engine/thumb (the share pages' maker, cache
// and limits): small 320 px, large 1280 px on the long side (a photo on
// a TV). A device whose maker has large ones off (router) answers 404;
// the full-size photo is /stream/{torrent}/{index}.
func (a *api) getThumb(w http.ResponseWriter, r *http.Request) error {
	size := thumb.Small
	switch r.URL.Query().Get("size") {
	case "", "small":
	case "large":
		size = thumb.Large
	default:
		return errorf(http.StatusBadRequest, "size must be small or large")
	}
	if a.thumbs == nil {
		return errorf(http.StatusNotFound, "thumbnails are not enabled")
	}
	t, index, err := a.libraryFile(r)
	if err != nil {
		return err
	}
	f := t.Files[index]
	if !thumbTypes[strings.ToLower(path.Ext(f.Path))] && !(f.Path == "" && thumbTypes[strings.ToLower(path.Ext(t.Name))]) {
		return errorf(http.StatusNotFound, "file %d of torrent %d is not a photo", index, t.ID)
	}
	if f.Done < f.Size {
		// Expected while a channel fills: answered, not logged as a fault.
		w.Header().Set("Retry-After", strconv.Itoa(int(thumbRetry/time.Second)))
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: fmt.Sprintf("file %d of torrent %d is still downloading", index, t.ID)})
		return nil
	}
	// The engine knows where the file is on disk (a renamed folder, a
	// channel's files straight in its folder): its reader's Path is
	// relative to the data folder.
	s, ok := a.eng.(Streamer)
	if !ok {
		return errorf(http.StatusNotFound, "thumbnails are not available")
	}
	fr, err := s.OpenFile(r.Context(), t.ID, index)
	if err != nil {
		return errorf(http.StatusNotFound, "file %d of torrent %d is not on disk", index, t.ID)
	}
	rel := fr.Path()
	fr.Close()
	root := t.DataDir
	if root == "" {
		root = t.Dir
	}
	// os.Root refuses ".." and symbolic links that lead out of the
	// torrent's data folder: only the torrent's own file is read.
	rt, err := os.OpenRoot(root)
	if err != nil {
		return errorf(http.StatusNotFound, "file %d of torrent %d is not on disk", index, t.ID)
	}
	fi, err := rt.Stat(filepath.FromSlash(rel))
	rt.Close()
	if err != nil || !fi.Mode().IsRegular() {
		return errorf(http.StatusNotFound, "file %d of torrent %d is not on disk", index, t.ID)
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	b, err := a.thumbs.ThumbSize(ctx, filepath.Join(root, filepath.FromSlash(rel)), size)
	switch {
	case errors.Is(err, thumb.ErrNoLarge):
		return errorf(http.StatusNotFound, "large thumbnails are off on this device: use /stream/%d/%d", t.ID, index)
	case errors.Is(err, thumb.ErrUnsupported):
		return errorf(http.StatusNotFound, "no thumbnail for file %d of torrent %d: not a JPEG, PNG or GIF image", index, t.ID)
	case errors.Is(err, thumb.ErrTooLarge):
		return errorf(http.StatusNotFound, "no thumbnail for file %d of torrent %d: the image has too many pixels for this device", index, t.ID)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		w.Header().Set("Retry-After", strconv.Itoa(int(thumbRetry/time.Second)))
		return errorf(http.StatusServiceUnavailable, "thumbnails are busy; try again")
	case err != nil:
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "image/jpeg")
	h.Set("Cache-Control", "private, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
	return nil
}
