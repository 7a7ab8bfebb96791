// Package web is Hearth's HTTP layer: the JSON API under /api/v1/ (see
// docs/api.md). It reaches the engine only through the small Engine
// interface declared here, so it depends on the engine's public API and
// nothing else.
//
// Every response is JSON. Errors are {"error": "one line"} with a status
// that says whose fault it is: 4xx for the request, 5xx for the daemon
// (the cause is logged, not sent).
package web

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/link"
	"github.com/hearth-media/hearth/engine/thumb"
	"github.com/hearth-media/hearth/web/access"
)

// Engine is what the API needs from the engine. *engine.Engine implements
// it; its methods are safe for concurrent use, which the handler relies on.
type Engine interface {
	Add(ctx context.Context, req engine.AddRequest) (t engine.Torrent, existed bool, err error)
	List() []engine.Torrent
	Get(ref string) (engine.Torrent, error)
	Pause(id int64) error
	Resume(id int64) error
	StartNow(id int64) error
	Remove(id int64, deleteData bool) error
	Verify(id int64) error
	SetFiles(id int64, patches []engine.FilePatch) error
	SetOptions(id int64, p engine.OptionsPatch) error
	MoveQueue(id int64, pos int) error
	AddPeers(id int64, addrs []string) error
	Settings() engine.Settings
	SetSettings(p engine.SettingsPatch) (engine.Settings, error)
	Stats() engine.Stats
}

var _ Engine = (*engine.Engine)(nil)

// VersionInfo describes the running build (GET /api/v1/version).
type VersionInfo struct {
	Version   string   `json:"version"`
	Commit    string   `json:"commit"`
	GoVersion string   `json:"goVersion"`
	OS        string   `json:"os"`
	Arch      string   `json:"arch"`
	Backends  []string `json:"storeBackends"` // state store backends compiled in
}

// ConfigEntry is one line of the effective configuration (GET /api/v1/config).
type ConfigEntry struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Source string `json:"source"` // where the value comes from: "default profile nas", "file /etc/hearth.conf:3", "api saved setting", "env HEARTH_LISTEN", "flag --listen"
	Help   string `json:"help"`
}

// Options configure NewHandler.
type Options struct {
	Engine  Engine // required
	Logger  *slog.Logger
	Version VersionInfo
	// Config returns the effective configuration; nil makes /api/v1/config 404.
	Config func() []config.Entry
	// Fetch downloads a .torrent for URL adds; nil uses link.Fetch with a
	// client that gives up after 30 s.
	Fetch func(ctx context.Context, url string) ([]byte, error)
	// AllowedHosts are host names (besides IP literals, localhost and
	// *.local) that requests may carry in their Host header; "*.suffix"
	// allows every name under suffix. The check defeats DNS rebinding: a
	// web page cannot reach the API through a name it controls.
	AllowedHosts []string
	// Access checks credentials and runs pairing (see auth.go). Nil means
	// no access control at all: every caller is trusted. serve always sets it.
	Access *access.Controller
	// TrustLoopback lets loopback callers in without credentials.
	TrustLoopback bool
	// Clients, when not empty, are the only addresses that may connect
	// (403 otherwise, like Transmission's rpc-whitelist); loopback always may.
	Clients []netip.Prefix
	// Transmission, when set, serves /transmission/rpc (package
	// web/transmission) behind the same checks as the API.
	Transmission http.Handler
	// LAN, when set, serves GET /lan/v1/items/{token} and POST
	// /lan/v1/peers (package web/lan): without credentials, for other
	// Hearth devices on the LAN; the client list and Host checks still
	// apply.
	LAN http.Handler
	// Channels, when set, serves /api/v1/channels and /api/v1/subscriptions
	// (channels.go) and takes channel links given to POST /api/v1/torrents.
	Channels Channels
	// Library, when set, serves GET /api/v1/library (media.go, docs/media.md).
	Library Library
	// Shares, when set, serves /api/v1/shares (shares.go, docs/share.md).
	Shares Shares
	// SharePages, when set, serves the share pages under /s/ (package
	// web/sharepage): without credentials, the link's token is the key.
	SharePages http.Handler
	// Events is the hub behind GET /api/v1/events (events.go); serve
	// makes it to call its Notify. Nil: the handler makes its own over
	// Engine, which sends torrents and stats only.
	Events *Events
	// Thumbs makes the library's photo thumbnails (GET
	// /api/v1/library/thumb/…): serve passes the share pages' maker, so
	// both share one cache and one decode limit. Nil: that endpoint 404s.
	Thumbs *thumb.Maker
	// StreamKey signs stream links (stream_url.go); serve keeps it in the
	// store (StreamKey) so links survive a restart. Empty: a key for this
	// process only.
	StreamKey []byte
	// ShareMail, when set, sends the messages of POST
	// /api/v1/shares/{id}/email through the daemon's mail server; without
	// it that endpoint answers 501.
	ShareMail ShareMailer
	// ShareOutside, when set, tells the outside link of shares (config
	// share.outside): share links then include it, or say why there is none.
	ShareOutside func() OutsideState
	// ListLimiter bounds the full torrent lists built at once; give the
	// same one to the Transmission RPC (transmission.Options.ListLimiter:
	// its Acquire) so both count against one limit. Nil: a limiter of
	// this handler's own with two slots.
	ListLimiter *ListLimiter
}

// Size limits of request bodies.
const (
	maxJSONBody    = 64 << 10
	maxTorrentBody = 16 << 20
	// A JSON add carries the .torrent in base64 (4/3 of its size).
	maxAddJSONBody = maxTorrentBody/3*4 + 4 + maxJSONBody
)

type api struct {
	eng          Engine
	log          *slog.Logger
	version      VersionInfo
	config       func() []config.Entry
	fetch        func(ctx context.Context, url string) ([]byte, error)
	allowedHosts map[string]bool
	hostPatterns []string // "*.suffix" entries of AllowedHosts
	mux          *http.ServeMux

	access        *access.Controller
	trustLoopback bool
	clients       []netip.Prefix
	channels      Channels
	library       Library
	shares        Shares
	sharePages    http.Handler
	shareMail     ShareMailer
	shareOutside  func() OutsideState
	events        *Events
	thumbs        *thumb.Maker
	streamKey     []byte
	// lists bounds full torrent lists being built and encoded at once
	// (see listTorrents).
	lists *ListLimiter
	// torrentLists makes GET /api/v1/torrents answers (torrents_list.go).
	torrentLists *listBuilder
}

// NewHandler returns the API handler. It answers /api/v1/… and 404s
// everything else with a JSON error.
func NewHandler(opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &api{
		eng:          opts.Engine,
		log:          log.With("component", "web"),
		version:      opts.Version,
		config:       opts.Config,
		fetch:        opts.Fetch,
		allowedHosts: map[string]bool{},
		mux:          http.NewServeMux(),

		access:        opts.Access,
		trustLoopback: opts.TrustLoopback,
		clients:       opts.Clients,
		channels:      opts.Channels,
		library:       opts.Library,
		shares:        opts.Shares,
		sharePages:    opts.SharePages,
		shareMail:     opts.ShareMail,
		shareOutside:  opts.ShareOutside,
		events:        opts.Events,
		thumbs:        opts.Thumbs,
		streamKey:     opts.StreamKey,
		lists:         opts.ListLimiter,
	}
	if a.lists == nil {
		a.lists = NewListLimiter(maxConcurrentLists)
	}
	a.torrentLists = newListBuilder(a.eng, a.lists)
	if len(a.streamKey) == 0 {
		a.streamKey = make([]byte, 32)
		rand.Read(a.streamKey)
	}
	if a.events == nil {
		a.events = NewEvents(EventsOptions{Source: opts.Engine, Logger: log})
	}
	for _, h := range opts.AllowedHosts {
		h = strings.ToLower(h)
		if strings.HasPrefix(h, "*.") {
			a.hostPatterns = append(a.hostPatterns, h)
		}
		a.allowedHosts[h] = true
	}
	if a.fetch == nil {
		client := &http.Client{Timeout: 30 * time.Second}
		a.fetch = func(ctx context.Context, url string) ([]byte, error) { return link.Fetch(ctx, client, url) }
	}
	a.routes()
	if opts.Transmission != nil {
		a.mux.Handle("/transmission/rpc", opts.Transmission)
		a.mux.Handle("/transmission/rpc/{$}", opts.Transmission) // transmission-remote's path
	}
	if opts.SharePages != nil {
		a.mux.Handle("GET /s/", opts.SharePages)
	}
	if opts.LAN != nil {
		a.mux.Handle("GET /lan/v1/items/{token}", opts.LAN)
		a.mux.Handle("POST /lan/v1/peers", opts.LAN)
	}

	// Cross-origin protection turns away state-changing requests a browser
	// sends from another site (Sec-Fetch-Site / Origin): without it any web
	// page could add torrents to a daemon on localhost.
	cop := http.NewCrossOriginProtection()
	if opts.Transmission != nil {
		// The RPC has Transmission's own CSRF defence, the session-id
		// handshake (a page on another site cannot read the id); browser-based
		// remotes that Transmission serves must not get a 403 here.
		cop.AddInsecureBypassPattern("/transmission/rpc")
		cop.AddInsecureBypassPattern("/transmission/rpc/{$}")
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, a.log, errorf(http.StatusForbidden, "cross-origin request refused"))
	}))
	return a.recoverer(a.logRequests(a.checkClient(a.checkHost(a.authenticate(cop.Handler(http.HandlerFunc(a.dispatch)))))))
}

func (a *api) routes() {
	m := a.mux
	m.Handle("GET /api/v1/version", a.h(a.getVersion))
	m.Handle("GET /api/v1/stats", a.h(a.getStats))
	m.Handle("GET /api/v1/torrents", a.h(a.listTorrents))
	m.Handle("POST /api/v1/torrents", a.h(a.addTorrent))
	m.Handle("GET /api/v1/torrents/{ref}", a.h(a.getTorrent))
	m.Handle("PATCH /api/v1/torrents/{ref}", a.h(a.patchTorrent))
	m.Handle("DELETE /api/v1/torrents/{ref}", a.h(a.removeTorrent))
	m.Handle("POST /api/v1/torrents/{ref}/pause", a.h(a.action(Engine.Pause)))
	m.Handle("POST /api/v1/torrents/{ref}/resume", a.h(a.action(Engine.Resume)))
	m.Handle("POST /api/v1/torrents/{ref}/start-now", a.h(a.action(Engine.StartNow)))
	m.Handle("POST /api/v1/torrents/{ref}/verify", a.h(a.action(Engine.Verify)))
	m.Handle("POST /api/v1/torrents/{ref}/peers", a.h(a.addPeers))
	a.torrentDetailRoutes()
	m.Handle("GET /api/v1/settings", a.h(a.getSettings))
	m.Handle("PATCH /api/v1/settings", a.h(a.patchSettings))
	m.Handle("GET /api/v1/config", a.h(a.getConfig))
	a.accessRoutes()
	a.sessionRoutes()
	a.mux.Handle("GET /api/v1/events", a.h(a.getEvents))
	a.channelRoutes(a.channels)
	a.shareRoutes()
	a.mediaRoutes()
	a.uiRoutes()
}

// allMethods are tried to tell a 405 from a 404.
var allMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// dispatch routes through the mux but answers unknown paths (404) and
// wrong methods (405) in JSON, which the mux itself does in plain text.
func (a *api) dispatch(w http.ResponseWriter, r *http.Request) {
	if _, pattern := a.mux.Handler(r); pattern != "" {
		a.mux.ServeHTTP(w, r)
		return
	}
	var allow []string
	for _, m := range allMethods {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, p := a.mux.Handler(r2); p != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		writeError(w, r, a.log, errorf(http.StatusNotFound, "no such API endpoint: %s %s", r.Method, r.URL.Path))
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeError(w, r, a.log, errorf(http.StatusMethodNotAllowed, "method %s not allowed on %s (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", ")))
}

// handlerFunc is an API handler: it writes a success response itself and
// returns errors for the wrapper to send.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (a *api) h(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			writeError(w, r, a.log, err)
		}
	})
}

// checkHost refuses requests whose Host header is a name the daemon was
// not told about (421, as Transmission does against DNS rebinding).
func (a *api) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.hostAllowed(r.Host) {
			writeError(w, r, a.log, errorf(http.StatusMisdirectedRequest, "host %q is not allowed: use an IP address, the device's name or add it to access.allowed_hosts", r.Host))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *api) hostAllowed(hostport string) bool {
	if hostport == "" {
		return true // HTTP/1.0 without Host: no name to rebind
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if net.ParseIP(host) != nil || host == "localhost" || strings.HasSuffix(host, ".localhost") ||
		strings.HasSuffix(host, ".local") {
		return true
	}
	for _, p := range a.hostPatterns {
		if hostMatches(p, host) {
			return true
		}
	}
	return a.allowedHosts[host]
}

// recoverer turns a panic in a handler into a logged 500: one bad request
// must never take the daemon down.
func (a *api) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw, ok := w.(*statusWriter)
		if !ok {
			sw = &statusWriter{ResponseWriter: w}
		}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			a.log.Error("panic in handler", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !sw.wrote {
				writeJSON(sw, http.StatusInternalServerError, errorBody{Error: internalMsg})
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// logRequests logs every request at debug level.
func (a *api) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if !a.log.Enabled(r.Context(), slog.LevelDebug) {
			return
		}
		a.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", sw.status(),
			"bytes", sw.n, "remote", r.RemoteAddr, "dur", time.Since(start).Round(time.Microsecond))
	})
}

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	code  int
	n     int64
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.code, w.wrote = http.StatusOK, true
	}
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

func (w *statusWriter) status() int {
	if !w.wrote {
		return http.StatusOK
	}
	return w.code
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		// Only a programming error gets here (a type json cannot encode).
		code = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: internalMsg})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// mediaType returns the request's media type, lowercased without parameters.
func mediaType(r *http.Request) (string, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return "", nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", errorf(http.StatusUnsupportedMediaType, "bad Content-Type %q", ct)
	}
	return mt, nil
}

// decodeJSON reads a JSON request body into v, strictly: the content type
// must be JSON, unknown fields are errors and nothing may follow the value.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	mt, err := mediaType(r)
	if err != nil {
		return err
	}
	if mt != "application/json" {
		if mt == "" {
			return errorf(http.StatusUnsupportedMediaType, "missing Content-Type: send application/json")
		}
		return errorf(http.StatusUnsupportedMediaType, "unsupported Content-Type %q: send application/json", mt)
	}
	return readJSON(http.MaxBytesReader(w, r.Body, limit), v)
}

func readJSON(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return errorf(http.StatusBadRequest, "malformed JSON: unexpected data after the object")
	}
	return nil
}

// torrentRef resolves the {ref} of the path to a torrent.
func (a *api) torrentRef(r *http.Request) (engine.Torrent, error) {
	ref := r.PathValue("ref")
	t, err := a.eng.Get(ref)
	if errors.Is(err, engine.ErrNotFound) {
		return t, &httpError{Code: http.StatusNotFound, Msg: fmt.Sprintf("torrent %s not found", ref), Err: err}
	}
	return t, err
}

func (a *api) getVersion(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, a.version)
	return nil
}

func (a *api) getStats(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, a.eng.Stats())
	return nil
}

func (a *api) getTorrent(w http.ResponseWriter, r *http.Request) error {
	t, err := a.torrentRef(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// action runs a one-torrent operation and answers with the torrent after it.
func (a *api) action(op func(Engine, int64) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		t, err := a.torrentRef(r)
		if err != nil {
			return err
		}
		if err := op(a.eng, t.ID); err != nil {
			return err
		}
		return a.writeTorrent(w, t.ID)
	}
}

// writeTorrent answers with the current state of torrent id.
func (a *api) writeTorrent(w http.ResponseWriter, id int64) error {
	t, err := a.eng.Get(strconv.FormatInt(id, 10))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// peersBody is the body of POST /api/v1/torrents/{ref}/peers.
type peersBody struct {
	Peers []string `json:"peers"`
}

func (a *api) addPeers(w http.ResponseWriter, r *http.Request) error {
	var body peersBody
	if err := decodeJSON(w, r, maxJSONBody, &body); err != nil {
		return err
	}
	if len(body.Peers) == 0 {
		return errorf(http.StatusBadRequest, "no peers given: want {\"peers\": [\"host:port\", …]}")
	}
	t, err := a.torrentRef(r)
	if err != nil {
		return err
	}
	if err := a.eng.AddPeers(t.ID, body.Peers); err != nil {
		return err
	}
	return a.writeTorrent(w, t.ID)
}

func (a *api) removeTorrent(w http.ResponseWriter, r *http.Request) error {
	deleteData := false
	if v := r.URL.Query().Get("delete_data"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errorf(http.StatusBadRequest, "delete_data=%q: want true or false", v)
		}
		deleteData = b
	}
	t, err := a.torrentRef(r)
	if err != nil {
		return err
	}
	if err := a.eng.Remove(t.ID, deleteData); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// torrentPatch is the body of PATCH /api/v1/torrents/{ref}.
type torrentPatch struct {
	Files    []engine.FilePatch   `json:"files"`
	Options  *engine.OptionsPatch `json:"options"`
	QueuePos *int                 `json:"queuePos"`
}

func (a *api) patchTorrent(w http.ResponseWriter, r *http.Request) error {
	var p torrentPatch
	if err := decodeJSON(w, r, maxJSONBody, &p); err != nil {
		return err
	}
	if p.Files == nil && p.Options == nil && p.QueuePos == nil {
		return errorf(http.StatusBadRequest, "nothing to change: give files, options or queuePos")
	}
	t, err := a.torrentRef(r)
	if err != nil {
		return err
	}
	// Options first: the engine checks their values before touching
	// anything, so the usual mistakes change nothing at all.
	if p.Options != nil {
		if err := a.eng.SetOptions(t.ID, *p.Options); err != nil {
			return err
		}
	}
	if p.Files != nil {
		if err := a.eng.SetFiles(t.ID, p.Files); err != nil {
			return err
		}
	}
	if p.QueuePos != nil {
		if err := a.eng.MoveQueue(t.ID, *p.QueuePos); err != nil {
			return err
		}
	}
	return a.writeTorrent(w, t.ID)
}

func (a *api) getSettings(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, a.eng.Settings())
	return nil
}

func (a *api) patchSettings(w http.ResponseWriter, r *http.Request) error {
	var p engine.SettingsPatch
	if err := decodeJSON(w, r, maxJSONBody, &p); err != nil {
		return err
	}
	s, err := a.eng.SetSettings(p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

// configBody is the body of GET /api/v1/config.
type configBody struct {
	Entries []ConfigEntry `json:"entries"`
}

func (a *api) getConfig(w http.ResponseWriter, r *http.Request) error {
	if a.config == nil {
		return errorf(http.StatusNotFound, "this daemon does not publish its configuration")
	}
	entries := a.config()
	out := configBody{Entries: make([]ConfigEntry, 0, len(entries))}
	for _, e := range entries {
		out.Entries = append(out.Entries, ConfigEntry{Key: e.Key, Value: e.Value, Source: e.Source.String(), Help: e.Help})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
