package web

import (
	"net/http"

	"github.com/hearth-media/hearth/web/ui"
)

// uiRoutes mounts the embedded web UI (web/ui): / for phones and desktops,
// /tv for televisions, /ui/ for their assets. They are public; the API
// they call is not.
func (a *api) uiRoutes() {
	h := ui.Handler()
	for _, p := range []string{"GET /{$}", "GET /index.html", "GET /tv", "GET /tv/{$}", "GET /ui/"} {
		a.mux.Handle(p, h)
	}
}

// uiPage reports whether r asks for a UI page or asset, which anyone on
// the LAN may load (it holds no data) so that it can show the login and
// pairing screens.
func uiPage(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && ui.Paths(r.URL.Path)
}
