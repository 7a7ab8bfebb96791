package transmission

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/link"
	"github.com/hearth-media/hearth/web/internal/fresh"
)

// Engine is what the RPC needs from the engine. *engine.Engine implements
// it; its methods are safe for concurrent use, which the handler relies on.
type Engine interface {
	Add(ctx context.Context, req engine.AddRequest) (t engine.Torrent, existed bool, err error)
	List() []engine.Torrent
	ListOf(ids []int64) []engine.Torrent
	Resolve(ref string) (int64, error)
	Get(ref string) (engine.Torrent, error)
	Pause(id int64) error
	Resume(id int64) error
	StartNow(id int64) error
	Verify(id int64) error
	Reannounce(id int64) error
	Remove(id int64, deleteData bool) error
	SetFiles(id int64, patches []engine.FilePatch) error
	SetOptions(id int64, p engine.OptionsPatch) error
	SetLabels(id int64, labels []string) error
	MoveQueue(id int64, pos int) error
	SetLocation(id int64, dir string, move bool) error
	RenamePath(id int64, path, name string) error
	Peers(id int64) ([]engine.Peer, error)
	Pieces(id int64) ([]bool, error)
	Removed(since time.Time) []int64
	Settings() engine.Settings
	SetSettings(p engine.SettingsPatch) (engine.Settings, error)
	Stats() engine.Stats
}

// Options configure NewHandler.
type Options struct {
	Engine Engine // required
	Logger *slog.Logger
	// Config is the daemon's startup configuration, for the values the
	// engine does not change at run time (peers per torrent, DHT, uTP,
	// port forwarding, data folder). Nil uses the desktop profile's defaults.
	Config *config.Config
	// Version is the daemon's version, shown in session-get's "version".
	Version string
	// Fetch downloads a .torrent for torrent-add with a URL; nil uses
	// link.Fetch with a client that gives up after 30 s.
	Fetch func(ctx context.Context, url string) ([]byte, error)
	// Shutdown stops the daemon (session-close); nil answers session-close
	// with an error. It is called after the response is written.
	Shutdown func()
	// Channels takes the channel links given to torrent-add (they
	// subscribe); nil refuses them.
	Channels Channels
	// ChannelWait is how long torrent-add with a channel link waits for
	// the channel's first version to be in the engine; 0 means 10 s.
	ChannelWait time.Duration
	// ListLimiter, when set, bounds the full torrent lists built at once:
	// a torrent-get of every torrent, of "recently-active" or of more than
	// maxSmallGet ids waits for a slot (or for its request's context to
	// end) and holds it until its answer is written, at most one slot per
	// HTTP request. The daemon passes web.ListLimiter's Acquire, shared with
	// GET /api/v1/torrents. Nil: no bound.
	ListLimiter func(ctx context.Context) (release func(), err error)
}

// HeaderSessionID is the CSRF header of the Transmission RPC.
const HeaderSessionID = "X-Transmission-Session-Id"

// Path is where the RPC is served. transmission-remote posts to Path+"/".
const Path = "/transmission/rpc"

// maxBody bounds a request: a torrent-add carries a .torrent of up to
// link.MaxTorrentSize in base64 (4/3 of its size).
const maxBody = link.MaxTorrentSize/3*4 + 4 + 64<<10

type handler struct {
	eng       Engine
	log       *slog.Logger
	cfg       *config.Config
	version   string
	fetch     func(ctx context.Context, url string) ([]byte, error)
	shutdown  func()
	sessionID string

	channels    Channels
	channelWait time.Duration
	listLimiter func(ctx context.Context) (release func(), err error)

	// lists shares engine.List snapshots between the calls that want every
	// torrent at the same time (torrent-get, session-stats): read only.
	lists *fresh.Group[[]engine.Torrent]
	// rowsSize is the size of the last big torrent-get answer: the next
	// one's buffer starts there, so it is not grown (and copied) while
	// encoding (torrentRows).
	rowsSize atomic.Int64

	// remembered holds limit values a client set while their switch was
	// off (Transmission keeps both; Hearth's settings keep one number
	// where 0 means off), so a later "enable" gets them back. In memory
	// only, bounded.
	mu         sync.Mutex
	remembered map[string]any
}

// NewHandler returns the RPC handler. It answers requests to Path (and
// Path+"/"); mount it behind authentication and Host checks.
func NewHandler(opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := opts.Config
	if cfg == nil {
		cfg, _ = config.Default("desktop")
	}
	h := &handler{
		eng:        opts.Engine,
		log:        log.With("component", "transmission-rpc"),
		cfg:        cfg,
		version:    opts.Version,
		fetch:      opts.Fetch,
		shutdown:   opts.Shutdown,
		sessionID:  newSessionID(),
		remembered: map[string]any{},

		channels:    opts.Channels,
		channelWait: opts.ChannelWait,
		listLimiter: opts.ListLimiter,
	}
	h.lists = fresh.New(func(context.Context) ([]engine.Torrent, error) { return h.eng.List(), nil })
	if h.channelWait <= 0 {
		h.channelWait = defaultChannelWait
	}
	if h.fetch == nil {
		client := &http.Client{Timeout: 30 * time.Second}
		h.fetch = func(ctx context.Context, url string) ([]byte, error) { return link.Fetch(ctx, client, url) }
	}
	return h
}

// newSessionID makes a 48-character alphanumeric id, like Transmission's.
func newSessionID() string {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 48)
	rand.Read(b)
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		// The web package recovers too; this keeps the answer in the RPC's form.
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.Error("panic in RPC", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			writeJSON(w, http.StatusInternalServerError, map[string]any{"result": "internal error (see the daemon's log)"})
		}
	}()
	w.Header().Set(HeaderSessionID, h.sessionID)
	if p := strings.TrimSuffix(r.URL.Path, "/"); p != Path {
		http.NotFound(w, r)
		return
	}
	if !h.validSession(r) {
		h.conflict(w)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"result": "method " + r.Method + " not allowed: POST a JSON request"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"result": fmt.Sprintf("request body is larger than %d MiB", maxBody>>20)})
			return
		}
		writeJSON(w, http.StatusBadRequest, map[string]any{"result": "read request: " + err.Error()})
		return
	}
	// A list slot taken by a torrent-get is held until the answer is
	// encoded and written: that is half the work.
	slot := &listSlot{}
	code, resp, after := h.serve(context.WithValue(r.Context(), listSlotKey{}, slot), body)
	if resp == nil {
		w.WriteHeader(http.StatusNoContent) // JSON-RPC notifications only
	} else {
		writeJSON(w, code, resp)
	}
	slot.release()
	if after != nil {
		after()
	}
}

// listSlot is one request's hold on the list limiter: a batch of several
// big torrent-gets takes one slot, not one each (with a limit of one it
// would otherwise wait for itself).
type listSlot struct {
	mu   sync.Mutex
	done func() // the limiter's release; nil while no slot is held
}

type listSlotKey struct{}

// acquireList takes a list slot for the request of ctx, unless it holds one
// already or there is no limiter. It returns what to call when the list is
// written: nothing when the request's own slot does that after writing.
func (h *handler) acquireList(ctx context.Context) (func(), error) {
	if h.listLimiter == nil {
		return func() {}, nil
	}
	slot, _ := ctx.Value(listSlotKey{}).(*listSlot)
	if slot == nil {
		// Not through ServeHTTP: hold the slot while the list is built.
		return h.listLimiter(ctx)
	}
	slot.mu.Lock()
	defer slot.mu.Unlock()
	if slot.done == nil {
		done, err := h.listLimiter(ctx)
		if err != nil {
			return nil, err
		}
		slot.done = done
	}
	return func() {}, nil
}

func (s *listSlot) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done != nil {
		s.done()
		s.done = nil
	}
}

func (h *handler) validSession(r *http.Request) bool {
	got := r.Header.Get(HeaderSessionID)
	return subtle.ConstantTimeCompare([]byte(got), []byte(h.sessionID)) == 1
}

// conflict is Transmission's 409 answer: the session id in the header and
// in the body, where clients that cannot read headers look for it.
func (h *handler) conflict(w http.ResponseWriter) {
	w.Header().Set("Access-Control-Expose-Headers", HeaderSessionID)
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.WriteHeader(http.StatusConflict)
	fmt.Fprintf(w, "<h1>409: Conflict</h1>"+
		"<p>Your request had an invalid session-id header.</p>"+
		"<p>To fix this, follow these steps:<ol>"+
		"<li> When reading a response, get its %[1]s header and remember it"+
		"<li> Add the updated header to your outgoing requests"+
		"<li> When you get this 409 error message, resend your request with the updated header"+
		"</ol></p>"+
		"<p>This requirement has been added to help prevent "+
		"<a href=\"https://en.wikipedia.org/wiki/Cross-site_request_forgery\">CSRF</a> attacks.</p>"+
		"<p><code>%[1]s: %[2]s</code></p>", HeaderSessionID, h.sessionID)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only a programming error gets here (a value json cannot encode).
		code = http.StatusInternalServerError
		b = []byte(`{"result":"internal error: cannot encode the response"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(b)
	w.Write([]byte{'\n'}) // not append(b, '\n'): that may copy a big answer
}

// request is one RPC request, classic or JSON-RPC 2.0.
type request struct {
	Method    string          `json:"method"`
	Arguments json.RawMessage `json:"arguments"`
	Tag       json.RawMessage `json:"tag"`
	JSONRPC   string          `json:"jsonrpc"`
	Params    json.RawMessage `json:"params"`
	ID        json.RawMessage `json:"id"`
}

// serve decodes and runs a body; it returns the HTTP status, the response
// (nil for JSON-RPC notifications) and what to run after writing it.
func (h *handler) serve(ctx context.Context, body []byte) (int, any, func()) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		return h.serveBatch(ctx, body)
	}
	var req request
	if err := strictDecode(body, &req); err != nil {
		if looksJSONRPC(body) {
			return http.StatusOK, rpcError(nil, codeParse, err.Error()), nil
		}
		return http.StatusBadRequest, map[string]any{"result": err.Error()}, nil
	}
	if req.JSONRPC != "" {
		resp, after := h.serveJSONRPC(ctx, &req)
		if resp == nil {
			return http.StatusNoContent, nil, after
		}
		return http.StatusOK, resp, after
	}
	resp := h.serveClassic(ctx, &req)
	if resp["result"] != "success" {
		return http.StatusOK, resp, nil
	}
	return http.StatusOK, resp, h.afterOf(&req)
}

// strictDecode decodes one JSON object with no unknown keys and nothing after it.
func strictDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("malformed request: %s", jsonMsg(err))
	}
	if dec.More() {
		return errors.New("malformed request: data after the JSON object")
	}
	var rest json.RawMessage
	if err := dec.Decode(&rest); !errors.Is(err, io.EOF) {
		return errors.New("malformed request: data after the JSON object")
	}
	return nil
}

func looksJSONRPC(b []byte) bool { return bytes.Contains(b, []byte(`"jsonrpc"`)) }

// jsonMsg turns a decoding error into one line for the client.
func jsonMsg(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("bad JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("%q must be a %s, not a JSON %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
		}
		return fmt.Sprintf("want a JSON object, not a JSON %s", te.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the body is empty or cut short"
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "unknown key " + rest + " (want method, arguments and tag)"
	}
	return strings.TrimPrefix(msg, "json: ")
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "slice", "array":
		return "list"
	case "map", "struct":
		return "object"
	}
	return k
}

// afterOf returns what a classic request needs done after its answer.
func (h *handler) afterOf(req *request) func() {
	if canonMethod(req.Method) == "session-close" && h.shutdown != nil {
		return h.shutdown
	}
	return nil
}

// serveClassic runs a request of the classic protocol.
func (h *handler) serveClassic(ctx context.Context, req *request) map[string]any {
	resp := map[string]any{}
	if len(req.Tag) > 0 && string(req.Tag) != "null" {
		if !scalarJSON(req.Tag) {
			resp["result"] = "tag must be a number"
			return resp
		}
		resp["tag"] = req.Tag
	}
	if len(req.Params) > 0 || len(req.ID) > 0 {
		resp["result"] = `"params" and "id" belong to JSON-RPC 2.0 requests: add "jsonrpc": "2.0", or send "arguments"`
		return resp
	}
	args, err := h.run(ctx, req.Method, req.Arguments, styleClassic)
	if err != nil {
		resp["result"] = err.Error()
		return resp
	}
	if args == nil {
		args = map[string]any{}
	}
	resp["result"] = "success"
	resp["arguments"] = args
	return resp
}

func scalarJSON(b json.RawMessage) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && (b[0] == '"' || b[0] == '-' || (b[0] >= '0' && b[0] <= '9'))
}

// run decodes the arguments and calls the method.
func (h *handler) run(ctx context.Context, method string, raw json.RawMessage, st style) (map[string]any, error) {
	name := canonMethod(method)
	if method == "" {
		return nil, &rpcErr{code: codeInvalidRequest, msg: "no method given"}
	}
	m, ok := methods[name]
	if !ok {
		return nil, &rpcErr{code: codeMethodNotFound, msg: fmt.Sprintf("method %q is not supported", clip(method))}
	}
	a, err := parseArgs(raw)
	if err != nil {
		return nil, err
	}
	c := &call{h: h, ctx: ctx, args: a, method: name, style: st}
	out, err := m(c)
	if err != nil {
		return nil, h.public(name, err)
	}
	return out, nil
}

// canonMethod maps Transmission 4.1's snake_case method names to the
// classic ones.
func canonMethod(m string) string { return strings.ReplaceAll(m, "_", "-") }

// public turns an error into the message a client sees: input errors and
// unknown torrents as they are, anything else logged and summarised.
func (h *handler) public(method string, err error) error {
	var re *rpcErr
	var ie *engine.InputError
	var le *link.Error
	switch {
	case errors.As(err, &re):
		return re
	case errors.As(err, &ie), errors.Is(err, engine.ErrNotFound), errors.As(err, &le):
		return &rpcErr{code: codeInvalidParams, msg: oneLine(err.Error())}
	case errors.Is(err, engine.ErrClosed):
		return &rpcErr{code: codeServer, msg: "the daemon is shutting down"}
	}
	h.log.Warn("RPC method failed", "method", method, "err", err)
	return &rpcErr{code: codeServer, msg: oneLine(err.Error())}
}

// rpcErr is an error answered to the client; code is used by JSON-RPC.
type rpcErr struct {
	code int
	msg  string
}

func (e *rpcErr) Error() string { return e.msg }

// JSON-RPC 2.0 error codes; codeServer is Hearth's for failures that are
// not the request's fault (disk errors, shutdown).
const (
	codeParse          = -32700
	codeInvalidRequest = -32600
	codeMethodNotFound = -32601
	codeInvalidParams  = -32602
	codeServer         = -32000
)

func errorf(format string, args ...any) error {
	return &rpcErr{code: codeInvalidParams, msg: oneLine(fmt.Sprintf(format, args...))}
}

// oneLine keeps a message on one line and bounded.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return clip(s)
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
