package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/hearth-media/hearth/engine/library"
)

// Library answers media queries; *library.Library implements it.
type Library interface {
	Find(q library.Query) (library.Page, error)
}

var _ Library = (*library.Library)(nil)

// mediaRoutes: streaming (stream.go) and the library (docs/media.md).
func (a *api) mediaRoutes() {
	a.mux.Handle("GET /stream/{ref}/{index}", a.h(a.stream))
	a.mux.Handle("HEAD /stream/{ref}/{index}", a.h(a.stream))
	a.mux.Handle("GET /api/v1/library", a.h(a.getLibrary))
}

// getLibrary: GET /api/v1/library?kind=&q=&torrent=&sort=added|taken&limit=&cursor=
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
