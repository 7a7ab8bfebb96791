package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/share"
	"github.com/hearth-media/hearth/web/qr"
	"github.com/hearth-media/hearth/web/sharemail"
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
	Kind string `json:"kind"` // "lan": the device's LAN address; "mdns": its .local name; "outside": the router's address (works from anywhere)
}

// ShareInfo is a share as the API shows it.
type ShareInfo struct {
	share.Share
	Status string      `json:"status"` // active, revoked, expired, used up
	Links  []ShareLink `json:"links"`
	// Outside says whether a link works from outside the home network:
	// the router forwards a port to the device (config share.outside) and
	// Links has one of kind "outside".
	Outside bool `json:"outside"`
	// OutsideNote says why there is no outside link when share.outside is
	// on (the router's answer); empty otherwise.
	OutsideNote string `json:"outsideNote,omitempty"`
}

// OutsideState is the outside link of shares (config share.outside).
type OutsideState struct {
	// Base is "http://EXTERNAL-IP:PORT" while the router forwards the
	// port; "" otherwise.
	Base string
	// Reason says why there is no outside link.
	Reason string
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
	m.Handle("POST /api/v1/shares/{id}/email", a.h(a.shareEmail))
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
	info := ShareInfo{Share: s, Status: s.Status(time.Now()), Links: shareLinks(r, s.Token)}
	if a.shareOutside != nil {
		if st := a.shareOutside(); st.Base != "" {
			info.Links = append(info.Links, ShareLink{URL: st.Base + "/s/" + s.Token, Kind: "outside"})
			info.Outside = true
		} else {
			info.OutsideNote = st.Reason
		}
	}
	return info
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
	links := a.shareInfo(r, s).Links
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

// ShareMailer sends mail through the daemon's mail server (config section
// share); cmd/hearth implements it. Safe for concurrent use.
type ShareMailer interface {
	// Sender is the From address of the messages.
	Sender() string
	// Send delivers msg to the recipients' bare addresses.
	Send(ctx context.Context, from string, to []string, msg []byte) error
}

// ErrNoMailServer is the message of the 501 that POST
// /api/v1/shares/{id}/email answers when no mail server is configured;
// clients then write the message themselves (hearth share email does).
const ErrNoMailServer = "no mail server configured (share.smtp in the daemon's config)"

// ShareEmailRequest is the body of POST /api/v1/shares/{id}/email.
type ShareEmailRequest struct {
	To   []string `json:"to"`   // addresses, "Name <addr>" or addr
	Link int      `json:"link"` // which of the share's links (0 = the first)
}

// ShareEmailResult is its answer.
type ShareEmailResult struct {
	Sent       []string `json:"sent"` // the bare addresses
	From       string   `json:"from"`
	Link       string   `json:"link"`
	Thumbnails int      `json:"thumbnails"`
}

// shareEmail sends the message about a share (package sharemail: text
// and HTML, the link, up to four thumbnails of its first photos, the QR
// code) through the configured mail server.
func (a *api) shareEmail(w http.ResponseWriter, r *http.Request) error {
	if err := a.sharesReady(); err != nil {
		return err
	}
	var req ShareEmailRequest
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		return err
	}
	if len(req.To) == 0 || len(req.To) > 50 {
		return errorf(http.StatusBadRequest, "give 1 to 50 recipients in \"to\"")
	}
	rcpts := make([]string, len(req.To))
	for i, t := range req.To {
		ad, err := mail.ParseAddress(t)
		if err != nil {
			return errorf(http.StatusBadRequest, "recipient %q is not an email address", oneLine(t))
		}
		rcpts[i] = ad.Address
	}
	s, err := a.shares.Get(r.PathValue("id"))
	if err != nil {
		return shareError(err)
	}
	if st := s.Status(time.Now()); st != "active" {
		return errorf(http.StatusGone, "share %s is %s: its link no longer opens anything", s.ID, st)
	}
	links := a.shareInfo(r, s).Links
	if len(links) == 0 {
		return errorf(http.StatusConflict, "the device has no LAN address to make a link with")
	}
	if req.Link < 0 || req.Link >= len(links) {
		return errorf(http.StatusBadRequest, "link %d: the share has %d links", req.Link, len(links))
	}
	if a.shareMail == nil {
		return errorf(http.StatusNotImplemented, ErrNoMailServer)
	}
	link, anywhere := links[req.Link].URL, links[req.Link].Kind == "outside"
	title := s.Label
	if title == "" {
		title = s.Channel
	}
	if title == "" {
		title = fmt.Sprintf("torrent %d", s.TorrentID)
		if t, err := a.eng.Get(strconv.FormatInt(s.TorrentID, 10)); err == nil && t.Name != "" {
			title = t.Name
		}
	}
	qrPNG, err := qr.PNG(link, 320)
	if err != nil {
		return err
	}
	thumbs := a.shareThumbs(r.Context(), s.Token, 4)
	from := a.shareMail.Sender()
	msg, err := sharemail.Build(sharemail.Message{From: from, To: req.To, Title: title, Note: s.Note, Link: link, Anywhere: anywhere, QR: qrPNG, Thumbs: thumbs})
	if err != nil {
		return errorf(http.StatusBadRequest, "%s", oneLine(err.Error()))
	}
	fromAddr, err := mail.ParseAddress(from)
	if err != nil {
		return fmt.Errorf("sender %q: %w", from, err)
	}
	ctx, cancel := context.WithTimeout(r.Context(), 80*time.Second)
	defer cancel()
	if err := a.shareMail.Send(ctx, fromAddr.Address, rcpts, msg); err != nil {
		// The mail server's answer helps the owner fix the settings; it
		// holds no secret of the device.
		return &httpError{Code: http.StatusBadGateway, Msg: "send mail: " + oneLine(err.Error()), Err: err}
	}
	a.log.Info("share email sent", "share", s.ID, "recipients", len(rcpts), "thumbnails", len(thumbs))
	writeJSON(w, http.StatusOK, ShareEmailResult{Sent: rcpts, From: from, Link: link, Thumbnails: len(thumbs)})
	return nil
}

// shareThumbs asks the share pages for the thumbnails of the share's
// first photos, in process: the same photos, cache and limits as the
// page (the first 32 entries are tried, at most max kept).
func (a *api) shareThumbs(ctx context.Context, token string, max int) [][]byte {
	if a.sharePages == nil {
		return nil
	}
	var out [][]byte
	for i := 0; i < 32 && len(out) < max && ctx.Err() == nil; i++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("/s/%s/t/%d", token, i), nil)
		if err != nil {
			return out
		}
		req.RemoteAddr = "127.0.0.1:0"
		cw := &captureWriter{h: http.Header{}, max: 1 << 20}
		a.sharePages.ServeHTTP(cw, req)
		if cw.code == http.StatusOK && cw.h.Get("Content-Type") == "image/jpeg" && !cw.over {
			out = append(out, cw.body.Bytes())
		}
	}
	return out
}

// captureWriter keeps a response in memory, up to max bytes.
type captureWriter struct {
	h    http.Header
	code int
	body bytes.Buffer
	max  int
	over bool
}

func (c *captureWriter) Header() http.Header { return c.h }

func (c *captureWriter) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
}

func (c *captureWriter) Write(b []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	if c.body.Len()+len(b) > c.max {
		c.over = true
		return 0, errors.New("web: response too large")
	}
	return c.body.Write(b)
}
