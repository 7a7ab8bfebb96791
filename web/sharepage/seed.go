package sharepage

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/hearth-media/hearth/engine"
	eshare "github.com/hearth-media/hearth/engine/share"
)

// The web seed (BEP 19, "GetRight style"): /s/<token>/seed/ is a url-list
// base. A client asks for <base><name>/<path…> (multi-file torrent) or
// <base><name> (single file), with the names of the torrent's info
// dictionary, one byte range per request. Served:
//
//   - the files of the share: a channel's current version, or a torrent
//     (only the files the share names, when it names some);
//   - BEP 47 padding files (".pad/N", attr "p") as zeros, whatever the
//     share, since clients such as aria2 ask for them;
//   - only ranges whose pieces are verified: anything else answers 503
//     with Retry-After (a client tries again later or elsewhere; anacrolix
//     backs off on 503), never data the device does not have;
//   - one range per request (206, or 416 with "bytes */size"); a request
//     with several ranges gets the whole file (200), as RFC 9110 allows.
//
// Same checks as the page: the token (constant-time, engine/share), 410
// for a revoked or expired share, 404 for any path that is not exactly a
// file of the torrent — the URL is only ever compared with the torrent's
// names, never turned into a path on disk. Web seed requests are bounded
// (Options.SeedConns at a time: 503 past that) and go through the guess
// limiter like every /s/ request, but they do not count against the
// share's download cap: a client makes hundreds of range requests for one
// download. The .torrent (/s/<token>/share.torrent) counts as one
// download instead, like the zip; a share that reached its cap answers
// 410 to its web seed too.

// Seeder gives what the web seed and the .torrent need of the engine;
// *engine.Engine implements it (safe for concurrent use).
type Seeder interface {
	Layout(id int64) (engine.Layout, error)
	OpenSeedFile(ctx context.Context, id int64, index int) (*engine.SeedFile, error)
	MetaInfo(id int64, webSeeds []string) ([]byte, error)
}

var _ Seeder = (*engine.Engine)(nil)

// errNoTorrent: the share has nothing to seed yet (a channel never
// published, a magnet without metadata).
var errNoTorrent = errors.New("share: no torrent to seed yet")

// seedRetryAfter is what a client waits after a 503, in seconds.
const seedRetryAfter = "30"

// seedTorrent returns the engine torrent a share seeds and which of its
// files (by index) the share holds.
func (h *handler) seedTorrent(s eshare.Share) (id int64, allowed func(int) bool, err error) {
	all := func(int) bool { return true }
	if s.Channel != "" {
		if h.o.Channels == nil {
			return 0, nil, errNoTorrent
		}
		ch, err := h.o.Channels.Channel(s.Channel)
		if err != nil {
			return 0, nil, err
		}
		if ch.TorrentID == 0 {
			return 0, nil, errNoTorrent
		}
		return ch.TorrentID, all, nil
	}
	if len(s.Files) == 0 {
		return s.TorrentID, all, nil
	}
	if h.o.Torrents == nil {
		return 0, nil, errNoTorrent
	}
	t, err := h.o.Torrents.Get(strconv.FormatInt(s.TorrentID, 10))
	if err != nil {
		return 0, nil, err
	}
	in := map[int]bool{}
	for _, f := range t.Files {
		if slices.Contains(s.Files, f.Path) {
			in[f.Index] = true
		}
	}
	return s.TorrentID, func(i int) bool { return in[i] }, nil
}

// seedPath decodes the escaped path after seed/ into its names. Every
// element must be a plain name: no empty element, ".", "..", and no "/",
// "\" or NUL once decoded.
func seedPath(escaped string) ([]string, bool) {
	if escaped == "" {
		return nil, false
	}
	parts := strings.Split(escaped, "/")
	for i, p := range parts {
		d, err := url.PathUnescape(p)
		if err != nil || d == "" || d == "." || d == ".." || strings.ContainsAny(d, "/\\\x00") {
			return nil, false
		}
		parts[i] = d
	}
	return parts, true
}

// seedLayout is a torrent's layout with its files by path, for the
// lookups of a web seed's many requests.
type seedLayout struct {
	engine.Layout
	byPath map[string]int // path elements joined by NUL → index in Files
}

// maxLayouts bounds the cached layouts (a torrent's never changes; ids
// are never reused, a channel's new version is a new id).
const maxLayouts = 16

// layout returns torrent id's layout, cached.
func (h *handler) layout(id int64) (*seedLayout, error) {
	h.layoutsMu.Lock()
	l := h.layouts[id]
	h.layoutsMu.Unlock()
	if l != nil {
		return l, nil
	}
	el, err := h.o.Seeder.Layout(id)
	if err != nil {
		return nil, err
	}
	l = &seedLayout{Layout: el, byPath: make(map[string]int, len(el.Files))}
	for i, f := range el.Files {
		l.byPath[strings.Join(f.Path, "\x00")] = i
	}
	h.layoutsMu.Lock()
	if len(h.layouts) >= maxLayouts {
		clear(h.layouts)
	}
	h.layouts[id] = l
	h.layoutsMu.Unlock()
	return l, nil
}

// seedFile finds the file a web seed URL names.
func seedFile(l *seedLayout, names []string) (engine.InfoFile, bool) {
	if len(names) == 0 || names[0] != l.Name {
		return engine.InfoFile{}, false
	}
	if l.SingleFile {
		if len(names) == 1 && len(l.Files) == 1 {
			return l.Files[0], true
		}
		return engine.InfoFile{}, false
	}
	if len(names) < 2 {
		return engine.InfoFile{}, false
	}
	i, ok := l.byPath[strings.Join(names[1:], "\x00")]
	if !ok {
		return engine.InfoFile{}, false
	}
	return l.Files[i], true
}

func (h *handler) seedUnavailable(w http.ResponseWriter, retry string) {
	w.Header().Set("Retry-After", retry)
	h.message(w, http.StatusServiceUnavailable, "Not yet", "This part is not on the device yet. Try again later.")
}

// seed serves one web seed request; rest is the escaped path after seed/.
func (h *handler) seed(w http.ResponseWriter, r *http.Request, s eshare.Share, rest string) {
	if h.o.Seeder == nil {
		h.notFound(w)
		return
	}
	names, ok := seedPath(rest)
	if !ok {
		h.notFound(w)
		return
	}
	id, allowed, err := h.seedTorrent(s)
	if err != nil {
		h.notFound(w)
		return
	}
	l, err := h.layout(id)
	if err != nil {
		h.notFound(w)
		return
	}
	fi, ok := seedFile(l, names)
	if !ok || !(fi.Padding || allowed(fi.Index)) {
		h.notFound(w)
		return
	}
	select {
	case h.seeds <- struct{}{}:
		defer func() { <-h.seeds }()
	default:
		h.seedUnavailable(w, "5")
		return
	}
	f, err := h.o.Seeder.OpenSeedFile(r.Context(), id, fi.Index)
	switch {
	case errors.Is(err, engine.ErrNotVerified):
		h.seedUnavailable(w, seedRetryAfter)
		return
	case errors.Is(err, engine.ErrNotFound), errors.Is(err, engine.ErrNoFile):
		h.notFound(w)
		return
	case err != nil:
		h.log.Debug("web seed open", "share", s.ID, "err", err)
		h.seedUnavailable(w, seedRetryAfter)
		return
	}
	defer f.Close()
	size := f.Size()
	start, n, code := parseRange(r.Header.Get("Range"), size)
	hd := w.Header()
	hd.Set("Accept-Ranges", "bytes")
	if code == http.StatusRequestedRangeNotSatisfiable {
		hd.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		h.message(w, code, "Range not satisfiable", "The file is shorter than that.")
		return
	}
	if !f.Verified(start, n) {
		h.seedUnavailable(w, seedRetryAfter)
		return
	}
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	hd.Set("Content-Disposition", ContentDisposition("attachment", names[len(names)-1]))
	hd.Set("Content-Length", strconv.FormatInt(n, 10))
	if code == http.StatusPartialContent {
		hd.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(start+n-1, 10)+"/"+strconv.FormatInt(size, 10))
	}
	w.WriteHeader(code)
	if r.Method == http.MethodHead || n == 0 {
		return
	}
	noWriteDeadline(w)
	buf := make([]byte, min(n, 64<<10))
	if _, err := io.CopyBuffer(w, io.NewSectionReader(f, start, n), buf); err != nil {
		// Headers are out: the client sees a short body.
		h.log.Debug("web seed", "share", s.ID, "err", err)
	}
}

// parseRange reads a Range header for a file of size bytes. It returns
// the span to send and 200 (no usable range: the whole file), 206 or 416.
// Only a single "bytes=" range is honoured; several ranges, other units
// and malformed headers are ignored (200), as RFC 9110 allows.
func parseRange(v string, size int64) (start, n int64, code int) {
	spec, ok := strings.CutPrefix(v, "bytes=")
	if v == "" || !ok || strings.Contains(spec, ",") {
		return 0, size, http.StatusOK
	}
	a, b, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, size, http.StatusOK
	}
	num := func(s string) (int64, bool) {
		if s == "" || len(s) > 19 || strings.Trim(s, "0123456789") != "" {
			return 0, false
		}
		x, err := strconv.ParseInt(s, 10, 64)
		return x, err == nil
	}
	if a == "" { // suffix: the last b bytes
		last, ok := num(b)
		if !ok {
			return 0, size, http.StatusOK
		}
		if last == 0 || size == 0 {
			return 0, 0, http.StatusRequestedRangeNotSatisfiable
		}
		last = min(last, size)
		return size - last, last, http.StatusPartialContent
	}
	first, ok := num(a)
	if !ok {
		return 0, size, http.StatusOK
	}
	end := size - 1
	if b != "" {
		e, ok := num(b)
		if !ok || e < first {
			return 0, size, http.StatusOK
		}
		end = min(e, size-1)
	}
	if first >= size {
		return 0, 0, http.StatusRequestedRangeNotSatisfiable
	}
	return first, end - first + 1, http.StatusPartialContent
}

// torrentFile serves the share's .torrent: the torrent (a channel's
// current version) with its info dictionary unchanged and url-list set to
// the share's web seed. It counts as a download of the share.
func (h *handler) torrentFile(w http.ResponseWriter, r *http.Request, s eshare.Share, c content) {
	if h.o.Seeder == nil {
		h.notFound(w)
		return
	}
	id, _, err := h.seedTorrent(s)
	if err != nil {
		h.notFound(w)
		return
	}
	var seeds []string
	for _, l := range h.links(r, s.Token) {
		seeds = append(seeds, strings.TrimSuffix(l, "/")+"/seed/")
	}
	b, err := h.o.Seeder.MetaInfo(id, seeds)
	if err != nil {
		h.notFound(w)
		return
	}
	if r.Method == http.MethodGet {
		if err := h.o.Shares.CountDownload(s.ID); err != nil {
			h.gone(w)
			return
		}
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/x-bittorrent")
	hd.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	hd.Set("Content-Disposition", ContentDisposition("attachment", torrentName(c.Title)))
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method == http.MethodGet {
		w.Write(b)
	}
}

func torrentName(title string) string {
	if title == "" {
		title = "share"
	}
	return title + ".torrent"
}

// hasTorrent says whether the share has a .torrent to offer.
func (h *handler) hasTorrent(s eshare.Share) bool {
	if h.o.Seeder == nil {
		return false
	}
	id, _, err := h.seedTorrent(s)
	if err != nil {
		return false
	}
	_, err = h.layout(id)
	return err == nil
}

// links returns the share's page links for the .torrent's url-list:
// Options.Links, or else the address the request came to: the Host the
// client used (when it is a plain host[:port]), and, when that is a name
// (nas.local, which some clients cannot resolve) or unusable, the local
// IP address of the connection unless it is loopback. Every link is
// http://host[:port]/s/<token>.
func (h *handler) links(r *http.Request, token string) []string {
	if h.o.Links != nil {
		return h.o.Links(r, token)
	}
	var hosts []string
	named := true
	if validHost(r.Host) {
		hosts = append(hosts, r.Host)
		h, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			h = r.Host
		}
		named = net.ParseIP(strings.Trim(h, "[]")) == nil
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && named {
		if ap, err := netip.ParseAddrPort(la.String()); err == nil {
			ip := ap.Addr().Unmap()
			if !ip.IsLoopback() && !ip.IsUnspecified() && ip.Zone() == "" {
				hosts = append(hosts, netip.AddrPortFrom(ip, ap.Port()).String())
			}
		}
	}
	var out []string
	for _, hp := range hosts {
		out = append(out, "http://"+hp+"/s/"+url.PathEscape(token))
	}
	return out
}

// validHost accepts host or host:port with a DNS name or an IP literal.
func validHost(hp string) bool {
	if hp == "" || len(hp) > 255 {
		return false
	}
	host := hp
	if h, p, err := net.SplitHostPort(hp); err == nil {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return false
		}
		host = h
	} else if strings.Contains(hp, ":") && !strings.HasPrefix(hp, "[") {
		return false
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if net.ParseIP(host) != nil {
		return true
	}
	for _, c := range host {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return host != ""
}
