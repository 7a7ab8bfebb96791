package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/hearth-media/hearth/engine"
)

// PeerLister lists a torrent's connected peers (the engine does). An
// Engine without it answers the peers endpoint with 501.
type PeerLister interface {
	Peers(id int64) ([]engine.Peer, error)
}

// Tracker is one tracker of a torrent (GET /api/v1/torrents/{ref}/trackers).
type Tracker struct {
	Announce string `json:"announce"`
	Host     string `json:"host"` // host of the announce URL, for display
}

// peerList and trackerList are the answers of the detail endpoints.
type peerList struct {
	Peers []engine.Peer `json:"peers"`
}

type trackerList struct {
	Trackers []Tracker `json:"trackers"`
}

// torrentDetailRoutes mounts the per-torrent lists the details screens show.
func (a *api) torrentDetailRoutes() {
	a.mux.Handle("GET /api/v1/torrents/{ref}/peers", a.h(a.getPeers))
	a.mux.Handle("GET /api/v1/torrents/{ref}/trackers", a.h(a.getTrackers))
}

// getPeers: GET /api/v1/torrents/{ref}/peers — the connected peers,
// fastest first; none while the torrent is stopped.
func (a *api) getPeers(w http.ResponseWriter, r *http.Request) error {
	t, err := a.torrentRef(r)
	if err != nil {
		return err
	}
	pl, ok := a.eng.(PeerLister)
	if !ok {
		return errorf(http.StatusNotImplemented, "this engine does not list peers")
	}
	peers, err := pl.Peers(t.ID)
	if err != nil {
		return err
	}
	if peers == nil {
		peers = []engine.Peer{}
	}
	writeJSON(w, http.StatusOK, peerList{Peers: peers})
	return nil
}

// getTrackers: GET /api/v1/torrents/{ref}/trackers — the torrent's
// announce URLs, in its order. The engine keeps them in the torrent's
// magnet link (its tr parameters); it does not report announce results.
func (a *api) getTrackers(w http.ResponseWriter, r *http.Request) error {
	t, err := a.torrentRef(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, trackerList{Trackers: torrentTrackers(t.Magnet)})
	return nil
}

// torrentTrackers reads the tr parameters of a magnet link, each once.
func torrentTrackers(magnet string) []Tracker {
	out := []Tracker{}
	_, q, ok := strings.Cut(magnet, "?")
	if !ok {
		return out
	}
	v, err := url.ParseQuery(q)
	if err != nil {
		return out
	}
	seen := map[string]bool{}
	for _, tr := range v["tr"] {
		if tr == "" || seen[tr] {
			continue
		}
		seen[tr] = true
		host := ""
		if u, err := url.Parse(tr); err == nil {
			host = u.Hostname()
		}
		out = append(out, Tracker{Announce: tr, Host: host})
	}
	return out
}
