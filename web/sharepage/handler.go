// Package sharepage serves the pages a share link opens (/s/<token>):
// the photos, videos and other files of one share (engine/share) to
// anyone who has the link, without an account or a client. It serves
// nothing else: no listing, no file outside the share, no control API.
//
// Routes, all GET (and HEAD):
//
//	/s/<token>               the page (html/template, strict CSP)
//	/s/<token>/f/<index>     a file, with HTTP Range; ?dl=1 as a download
//	/s/<token>/t/<index>     a JPEG thumbnail of a photo
//	/s/<token>/all.zip       every ready file, zipped on the fly
//	/s/<token>/invite.hearth a channel invite for a Hearth install
//	/s/<token>/invite.png    the channel link as a QR code
//	/s/<token>/share.torrent the torrent with the web seed as url-list
//	/s/<token>/seed/…        a BEP 19 web seed of the share (seed.go)
//
// An unknown token answers 404; a revoked, expired or used-up share 410;
// both with a small HTML page. Unknown tokens count against the caller's
// address: past a few a minute it gets 429 for a while.
package sharepage

import (
	"archive/zip"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/channel"
	eshare "github.com/hearth-media/hearth/engine/share"
	"github.com/hearth-media/hearth/engine/thumb"
	"github.com/hearth-media/hearth/web/qr"
)

// Shares is what the pages need of the share manager; *share.Manager
// implements it (safe for concurrent use).
type Shares interface {
	Lookup(token string) (eshare.Share, error)
	CountDownload(id string) error
}

// Channels gives a channel's folder and files; *channel.Manager
// implements it.
type Channels interface {
	Channel(name string) (channel.Channel, error)
	Items(name string) ([]channel.ItemInfo, error)
}

// Torrents gives a torrent's files; *engine.Engine implements it.
type Torrents interface {
	Get(ref string) (engine.Torrent, error)
}

var (
	_ Shares   = (*eshare.Manager)(nil)
	_ Channels = (*channel.Manager)(nil)
	_ Torrents = (*engine.Engine)(nil)
)

// Options configure NewHandler.
type Options struct {
	Shares   Shares // required
	Channels Channels
	Torrents Torrents
	Thumbs   *thumb.Maker // nil: no thumbnails, the gallery shows names
	// Seeder serves the web seed and the .torrent; nil: Torrents when it
	// implements Seeder (*engine.Engine does), else neither is offered.
	Seeder Seeder
	// SeedConns bounds the web seed requests served at once (default
	// 16); past it a client gets 503 with Retry-After.
	SeedConns int
	// Links returns a share's page links (http://host:port/s/<token>)
	// for the .torrent's url-list; nil: the address the request came to.
	Links  func(r *http.Request, token string) []string
	Logger *slog.Logger
	// GuessLimit is how many unknown tokens one address may try per
	// GuessWindow before it gets 429 (defaults 10 per minute).
	GuessLimit  int
	GuessWindow time.Duration
	Now         func() time.Time
}

type handler struct {
	o       Options
	log     *slog.Logger
	guesses *limiter
	seeds   chan struct{} // web seed requests under way

	layoutsMu sync.Mutex
	layouts   map[int64]*seedLayout // by torrent id, for the web seed
}

// NewHandler returns the handler of /s/.
func NewHandler(o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.GuessLimit <= 0 {
		o.GuessLimit = 10
	}
	if o.GuessWindow <= 0 {
		o.GuessWindow = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if sd, ok := o.Torrents.(Seeder); ok && o.Seeder == nil {
		o.Seeder = sd
	}
	if o.SeedConns <= 0 {
		o.SeedConns = 16
	}
	return &handler{o: o, log: o.Logger.With("component", "share"), guesses: newLimiter(o.GuessLimit, o.GuessWindow, o.Now), seeds: make(chan struct{}, o.SeedConns), layouts: map[int64]*seedLayout{}}
}

// validToken: base64url characters only, as share tokens are.
func validToken(s string) bool {
	if len(s) < 16 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cache-Control", "private, no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		h.message(w, http.StatusMethodNotAllowed, "Not allowed", "This page can only be looked at.")
		return
	}
	// The raw path: an encoded "/" or "." must not turn into a route.
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/s/")
	if !ok {
		h.notFound(w)
		return
	}
	token, sub, _ := strings.Cut(rest, "/")
	ip := remoteIP(r)
	if h.guesses.blocked(ip) {
		hd.Set("Retry-After", strconv.Itoa(int(h.o.GuessWindow.Seconds())))
		h.message(w, http.StatusTooManyRequests, "Slow down", "Too many wrong links from your address. Try again in a minute.")
		return
	}
	if !validToken(token) {
		h.guesses.fail(ip)
		h.notFound(w)
		return
	}
	s, err := h.o.Shares.Lookup(token)
	switch {
	case errors.Is(err, eshare.ErrNotFound):
		h.guesses.fail(ip)
		h.notFound(w)
		return
	case errors.Is(err, eshare.ErrGone):
		h.gone(w)
		return
	case err != nil:
		h.log.Error("share lookup", "err", err)
		h.message(w, http.StatusInternalServerError, "Something went wrong", "The device could not open this share. Try again later.")
		return
	}
	if rest, ok := strings.CutPrefix(sub, "seed/"); ok {
		// Before resolve: a web seed makes many requests, and listing a
		// channel's folder for each would cost a router dearly.
		h.seed(w, r, s, rest)
		return
	}
	c, err := h.resolve(s)
	if err != nil {
		// The channel or torrent was deleted since.
		h.log.Warn("share content", "share", s.ID, "err", err)
		h.gone(w)
		return
	}
	switch {
	case sub == "":
		h.page(w, r, s, c)
	case sub == "icon.png":
		h.icon(w, r)
	case sub == "all.zip":
		h.zip(w, r, s, c)
	case sub == "invite.hearth" && c.IsChannel:
		h.invite(w, r, s, c)
	case sub == "invite.png" && c.IsChannel:
		h.inviteQR(w, r, c)
	case sub == "share.torrent":
		h.torrentFile(w, r, s, c)
	case strings.HasPrefix(sub, "f/"):
		if i, ok := index(sub[2:]); ok {
			h.file(w, r, s, c, i)
			return
		}
		h.notFound(w)
	case strings.HasPrefix(sub, "t/"):
		if i, ok := index(sub[2:]); ok {
			h.thumb(w, r, c, i)
			return
		}
		h.notFound(w)
	default:
		h.notFound(w)
	}
}

// index parses a file index: decimal digits only, no sign, no leading 0.
func index(s string) (int, bool) {
	if s == "" || len(s) > 6 || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func remoteIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.IPv4Unspecified()
	}
	return ap.Addr().Unmap()
}

// file serves one file of the share: inline (media types only, with
// Range) or, with ?dl=1 and for every other type, as a download.
func (h *handler) file(w http.ResponseWriter, r *http.Request, s eshare.Share, c content, i int) {
	f, meta, err := c.open(i)
	if err != nil {
		h.notFound(w)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		h.notFound(w)
		return
	}
	download := r.URL.Query().Get("dl") == "1" || meta.Kind == "other"
	if download && r.Header.Get("Range") == "" && r.Method == http.MethodGet {
		if err := h.o.Shares.CountDownload(s.ID); err != nil {
			h.gone(w)
			return
		}
	}
	hd := w.Header()
	// A file is never a page of this origin: no script, no forms, an
	// opaque origin even if a browser renders it.
	hd.Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'")
	hd.Set("Content-Type", meta.Type)
	if download {
		hd.Set("Content-Disposition", ContentDisposition("attachment", meta.Name))
	} else {
		hd.Set("Content-Disposition", ContentDisposition("inline", meta.Name))
	}
	noWriteDeadline(w)
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// noWriteDeadline lifts the server's write timeout for a long response
// (a film, a zip of many GiB); a client that stops reading is still cut
// off by TCP keepalive and the server's idle handling.
func noWriteDeadline(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
}

// ContentDisposition makes a Content-Disposition value with an ASCII
// fallback name and the exact one as RFC 5987 UTF-8 (RFC 6266).
func ContentDisposition(kind, name string) string {
	var ascii strings.Builder
	for _, c := range name {
		switch {
		case c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '/' || c == '%' || c == ';':
			ascii.WriteByte('_')
		default:
			ascii.WriteRune(c)
		}
	}
	var enc strings.Builder
	for _, b := range []byte(name) {
		if b < 0x80 && (b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || strings.IndexByte("!#$&+-.^_`|~", b) >= 0) {
			enc.WriteByte(b)
		} else {
			fmt.Fprintf(&enc, "%%%02X", b)
		}
	}
	return fmt.Sprintf(`%s; filename="%s"; filename*=UTF-8''%s`, kind, ascii.String(), enc.String())
}

func (h *handler) thumb(w http.ResponseWriter, r *http.Request, c content, i int) {
	if h.o.Thumbs == nil || i < 0 || i >= len(c.Files) || !c.Files[i].Thumbable {
		h.notFound(w)
		return
	}
	f, meta, err := c.open(i) // checks the file is inside the share
	if err != nil {
		h.notFound(w)
		return
	}
	f.Close()
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	b, err := h.o.Thumbs.Thumb(ctx, joinRoot(c.root, meta.Path))
	if err != nil {
		h.log.Debug("thumbnail", "err", err)
		h.notFound(w)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method == http.MethodGet {
		w.Write(b)
	}
}

// zip streams every ready file as one archive. Files are stored, not
// compressed (photos and videos are compressed already), one at a time
// through a fixed buffer: memory stays flat whatever the size, and
// archive/zip writes data descriptors and zip64 records as needed.
func (h *handler) zip(w http.ResponseWriter, r *http.Request, s eshare.Share, c content) {
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Type", "application/zip")
		return
	}
	if err := h.o.Shares.CountDownload(s.ID); err != nil {
		h.gone(w)
		return
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", ContentDisposition("attachment", zipName(c.Title)))
	noWriteDeadline(w)
	zw := zip.NewWriter(w)
	buf := make([]byte, 256<<10)
	for i, meta := range c.Files {
		if !meta.Ready {
			continue
		}
		f, _, err := c.open(i)
		if err != nil {
			continue
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			continue
		}
		fh := &zip.FileHeader{Name: meta.Path, Method: zip.Store, Modified: st.ModTime(), UncompressedSize64: uint64(st.Size())}
		fh.SetMode(0o644)
		dst, err := zw.CreateHeader(fh)
		if err == nil {
			_, err = io.CopyBuffer(dst, io.LimitReader(f, st.Size()), buf)
		}
		f.Close()
		if err != nil {
			// The client went away, or the file shrank: stop; the archive
			// is cut short and the client sees an error.
			h.log.Debug("share zip", "share", s.ID, "err", err)
			return
		}
	}
	if err := zw.Close(); err != nil {
		h.log.Debug("share zip", "share", s.ID, "err", err)
	}
}

func zipName(title string) string {
	if title == "" {
		title = "share"
	}
	return title + ".zip"
}

// Invite is the content of an invite file (.hearth): what a Hearth
// install needs to subscribe to the channel.
type Invite struct {
	Type    string `json:"type"` // "hearth-invite"
	Version int    `json:"version"`
	Channel string `json:"channel"` // the channel link
	Label   string `json:"label,omitempty"`
}

func (h *handler) invite(w http.ResponseWriter, r *http.Request, s eshare.Share, c content) {
	b, _ := json.MarshalIndent(Invite{Type: "hearth-invite", Version: 1, Channel: c.Link, Label: c.Title}, "", "  ")
	w.Header().Set("Content-Type", "application/vnd.hearth.invite+json")
	w.Header().Set("Content-Disposition", ContentDisposition("attachment", c.Title+".hearth"))
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'")
	w.Write(append(b, '\n'))
}

// inviteQR is a QR code of the channel link: a Hearth app that scans it
// subscribes, as with the invite file.
func (h *handler) inviteQR(w http.ResponseWriter, r *http.Request, c content) {
	b, err := qr.PNG(c.Link, 240)
	if err != nil {
		h.notFound(w)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method == http.MethodGet {
		w.Write(b)
	}
}

func newNonce() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.RawStdEncoding.EncodeToString(b[:])
}

func (h *handler) page(w http.ResponseWriter, r *http.Request, s eshare.Share, c content) {
	nonce := newNonce()
	setPageCSP(w, nonce)
	d := pageData{Nonce: nonce, Title: c.Title, Note: s.Note, Link: c.Link, IsChannel: c.IsChannel, Base: "/s/" + url.PathEscape(s.Token)}
	for _, f := range c.Files {
		switch {
		case !f.Ready:
			d.Arriving = append(d.Arriving, f)
		case f.Kind == "image":
			d.Images = append(d.Images, f)
		case f.Kind == "video" || f.Kind == "audio":
			d.Media = append(d.Media, f)
		default:
			d.Others = append(d.Others, f)
		}
		if f.Ready {
			d.Ready++
			d.Bytes += f.Size
		}
	}
	if !s.ExpiresAt.IsZero() {
		d.Expires = s.ExpiresAt.Format("2 January 2006 15:04 MST")
	}
	d.Thumbs = h.o.Thumbs != nil
	d.Torrent = h.hasTorrent(s)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTmpl.Execute(w, d); err != nil {
		h.log.Debug("share page", "err", err)
	}
}

func setPageCSP(w http.ResponseWriter, nonce string) {
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+nonce+"'; img-src 'self'; media-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
}

func (h *handler) notFound(w http.ResponseWriter) {
	h.message(w, http.StatusNotFound, "Link not found", "This link does not open anything on this device. Check that you copied all of it.")
}

func (h *handler) gone(w http.ResponseWriter) {
	h.message(w, http.StatusGone, "This share has ended", "The person who sent you this link has stopped sharing it, or it has expired. Ask them for a new link.")
}

func (h *handler) message(w http.ResponseWriter, code int, title, text string) {
	nonce := newNonce()
	setPageCSP(w, nonce)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Del("Content-Disposition")
	w.WriteHeader(code)
	msgTmpl.Execute(w, map[string]string{"Nonce": nonce, "Title": title, "Text": text})
}
