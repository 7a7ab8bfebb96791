package web

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/share"
	"github.com/hearth-media/hearth/web/qr"
)

// Shares is what the API needs of the share manager; *share.Manager
// implements it (safe for concurrent use).
type Shares interface {
	Create(req share.CreateRequest) (share.Share, error)
	List() ([]share.Share, error)
	Get(id string) (share.Share, error)
	Revoke(id string) (share.Share, error)
}

var _ Shares = (*share.Manager)(nil)

// ShareLink is one way to open a share.
type ShareLink struct {
	URL  string `json:"url"`
	Kind string `json:"kind"` // "lan": the device's LAN address; "mdns": its .local name
}

// ShareInfo is a share as the API shows it.
type ShareInfo struct {
	share.Share
	Status string      `json:"status"` // active, revoked, expired, used up
	Links  []ShareLink `json:"links"`
	// Outside says whether a link works from outside the home network:
	// always false for now (no port mapping yet).
	Outside bool `json:"outside"`
}

// shareRoutes registers /api/v1/shares (docs/share.md). Without a
// manager they answer 503.
func (a *api) shareRoutes() {
	m := a.mux
	m.Handle("GET /api/v1/shares", a.h(a.listShares))
	m.Handle("POST /api/v1/shares", a.h(a.createShare))
	m.Handle("GET /api/v1/shares/{id}", a.h(a.getShare))
	m.Handle("DELETE /api/v1/shares/{id}", a.h(a.revokeShare))
	m.Handle("GET /api/v1/shares/{id}/qr.png", a.h(a.shareQR))
}

// sharePage reports whether r is a GET or HEAD of a share page (/s/…,
// package web/sharepage), which anyone with the link may open: the
// page's token is the credential. The cleaned path must still be under
// /s/, so that "/s/x/../../api" is not let through.
func sharePage(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	p := r.URL.Path
	return strings.HasPrefix(p, "/s/") && !strings.Contains(p, "/..") &&
		!strings.Contains(strings.ToLower(r.URL.RawPath), "%2f")
}

func shareError(err error) error {
	switch {
	case errors.Is(err, share.ErrNotFound):
		return &httpError{Code: http.StatusNotFound, Msg: oneLine(err.Error()), Err: err}
	case errors.Is(err, share.ErrInput):
		return &httpError{Code: http.StatusBadRequest, Msg: oneLine(err.Error()), Err: err}
	}
	return err
}

func (a *api) sharesReady() error {
	if a.shares == nil {
		return errorf(http.StatusServiceUnavailable, "shares are not available in this daemon")
	}
	return nil
}

func (a *api) shareInfo(r *http.Request, s share.Share) ShareInfo {
	return ShareInfo{Share: s, Status: s.Status(time.Now()), Links: shareLinks(r, s.Token)}
}

func (a *api) createShare(w http.ResponseWriter, r *http.Request) error {
	if err := a.sharesReady(); err != nil {
		return err
	}
	var req share.CreateRequest
	if err := decodeJSON(w, r, maxJSONBody*4, &req); err != nil {
		return err
	}
	// The share names something that exists now.
	switch {
	case req.Channel != "" && req.TorrentID != 0:
		return errorf(http.StatusBadRequest, "give either a channel or a torrent")
	case req.Channel != "":
		if a.channels == nil {
			return errorf(http.StatusServiceUnavailable, "channels are not available in this daemon")
		}
		if _, err := a.channels.Channel(req.Channel); err != nil {
			return channelError(err)
		}
	case req.TorrentID != 0:
		t, err := a.eng.Get(strconv.FormatInt(req.TorrentID, 10))
		if err != nil {
			return err
		}
		for _, f := range req.Files {
			if !slices.ContainsFunc(t.Files, func(tf engine.File) bool { return tf.Path == f }) {
				return errorf(http.StatusBadRequest, "torrent %d has no file %q", t.ID, f)
			}
		}
	}
	s, err := a.shares.Create(req)
	if err != nil {
		return shareError(err)
	}
	w.Header().Set("Location", "/api/v1/shares/"+s.ID)
	writeJSON(w, http.StatusCreated, a.shareInfo(r, s))
	return nil
}

func (a *api) listShares(w http.ResponseWriter, r *http.Request) error {
	if err := a.sharesReady(); err != nil {
		return err
	}
	list, err := a.shares.List()
	if err != nil {
		return err
	}
	out := make([]ShareInfo, len(list))
	for i, s := range list {
		out[i] = a.shareInfo(r, s)
	}
	writeJSON(w, http.StatusOK, map[string]any{"shares": out})
	return nil
}

func (a *api) getShare(w http.ResponseWriter, r *http.Request) error {
	if err := a.sharesReady(); err != nil {
		return err
	}
	s, err := a.shares.Get(r.PathValue("id"))
	if err != nil {
		return shareError(err)
	}
	writeJSON(w, http.StatusOK, a.shareInfo(r, s))
	return nil
}

func (a *api) revokeShare(w http.ResponseWriter, r *http.Request) error {
	if err := a.sharesReady(); err != nil {
		return err
	}
	s, err := a.shares.Revoke(r.PathValue("id"))
	if err != nil {
		return shareError(err)
	}
	writeJSON(w, http.StatusOK, a.shareInfo(r, s))
	return nil
}

// shareLinks are the URLs of a share page: the address the request came
// in on when it is not loopback, the device's LAN addresses, and its
// .local name; all on the port the request came in on.
func shareLinks(r *http.Request, token string) []ShareLink {
	port := "80"
	var local netip.Addr
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if ap, err := netip.ParseAddrPort(la.String()); err == nil {
			port = strconv.Itoa(int(ap.Port()))
			local = ap.Addr().Unmap()
		}
	}
	var addrs []netip.Addr
	if local.IsValid() && !local.IsLoopback() && !local.IsUnspecified() {
		addrs = append(addrs, local)
	}
	addrs = append(addrs, lanAddrs()...)
	var out []ShareLink
	seen := map[netip.Addr]bool{}
	for _, ip := range addrs {
		if seen[ip] {
			continue
		}
		seen[ip] = true
		out = append(out, ShareLink{URL: "http://" + net.JoinHostPort(ip.String(), port) + "/s/" + token, Kind: "lan"})
	}
	if h, err := os.Hostname(); err == nil && h != "" && !strings.Contains(h, ".") {
		out = append(out, ShareLink{URL: fmt.Sprintf("http://%s.local:%s/s/%s", strings.ToLower(h), port, token), Kind: "mdns"})
	}
	return out
}

// lanAddrs are the device's private IPv4 addresses on interfaces that
// are up (IPv6 link-local addresses need a zone a link cannot carry).
func lanAddrs() []netip.Addr {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		as, _ := ifc.Addrs()
		for _, a := range as {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() && p.Addr().IsPrivate() {
				out = append(out, p.Addr())
			}
		}
	}
	return out
}

// shareQR serves a PNG QR code of the share's first link, or of link n
// (?link=n, 0-based), ?size= pixels (default 256, 64-1024).
func (a *api) shareQR(w http.ResponseWriter, r *http.Request) error {
	if err := a.sharesReady(); err != nil {
		return err
	}
	s, err := a.shares.Get(r.PathValue("id"))
	if err != nil {
		return shareError(err)
	}
	links := shareLinks(r, s.Token)
	n, size := 0, 256
	if v := r.URL.Query().Get("link"); v != "" {
		if n, err = strconv.Atoi(v); err != nil || n < 0 || n >= len(links) {
			return errorf(http.StatusBadRequest, "link %q: the share has %d links", v, len(links))
		}
	}
	if v := r.URL.Query().Get("size"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 64 || size > 1024 {
			return errorf(http.StatusBadRequest, "size %q: want 64 to 1024 pixels", v)
		}
	}
	if len(links) == 0 {
		return errorf(http.StatusConflict, "the device has no LAN address to make a link with")
	}
	b, err := qr.PNG(links[n].URL, size)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
	return nil
}
