package transmission

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
)

func TestMain(m *testing.M) {
	enginetest.ClassicFileIO()
	os.Exit(m.Run())
}

var _ Engine = (*engine.Engine)(nil)

// rpcServer is the handler over a real engine, served on loopback.
type rpcServer struct {
	t    testing.TB
	url  string
	node *enginetest.Node
	eng  *engine.Engine
	sid  string
}

func startRPC(t testing.TB, tweak ...func(*Options)) *rpcServer {
	t.Helper()
	n := enginetest.StartNode(t, enginetest.NodeOptions{})
	o := Options{Engine: n.Engine, Logger: enginetest.Logger(t), Config: n.Config, Version: "test"}
	for _, f := range tweak {
		f(&o)
	}
	srv := httptest.NewServer(NewHandler(o))
	t.Cleanup(srv.Close)
	return &rpcServer{t: t, url: srv.URL + Path, node: n, eng: n.Engine}
}

// post sends a body with the given session id and returns the status,
// headers and body.
func (s *rpcServer) post(sid, body string) (int, http.Header, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.url, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if sid != "" {
		req.Header.Set(HeaderSessionID, sid)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// send posts a raw body, doing the 409 handshake like a client.
func (s *rpcServer) send(body string) (int, []byte) {
	s.t.Helper()
	code, h, b := s.post(s.sid, body)
	if code == http.StatusConflict {
		s.sid = h.Get(HeaderSessionID)
		code, _, b = s.post(s.sid, body)
	}
	return code, b
}

// response is a classic response.
type response struct {
	Result    string         `json:"result"`
	Arguments map[string]any `json:"arguments"`
	Tag       any            `json:"tag"`
}

// call sends a classic request and decodes the response; it fails the test
// on anything but HTTP 200.
func (s *rpcServer) call(method string, args any) response {
	s.t.Helper()
	req := map[string]any{"method": method}
	if args != nil {
		req["arguments"] = args
	}
	b, _ := json.Marshal(req)
	code, body := s.send(string(b))
	if code != http.StatusOK {
		s.t.Fatalf("%s: HTTP %d %s", method, code, body)
	}
	var r response
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		s.t.Fatalf("%s: decode %s: %v", method, body, err)
	}
	return r
}

// ok calls a method that must succeed.
func (s *rpcServer) ok(method string, args any) map[string]any {
	s.t.Helper()
	r := s.call(method, args)
	if r.Result != "success" {
		s.t.Fatalf("%s %v: result %q, want success", method, args, r.Result)
	}
	return r.Arguments
}

// fails calls a method that must fail, and returns the message.
func (s *rpcServer) fails(method string, args any) string {
	s.t.Helper()
	r := s.call(method, args)
	if r.Result == "success" || r.Result == "" {
		s.t.Fatalf("%s %v: result %q, want an error", method, args, r.Result)
	}
	return r.Result
}

// torrents returns torrent-get's list for the fields.
func (s *rpcServer) torrents(ids any, fields ...string) []map[string]any {
	s.t.Helper()
	args := map[string]any{"fields": fields}
	if ids != nil {
		args["ids"] = ids
	}
	out := s.ok("torrent-get", args)
	list, _ := out["torrents"].([]any)
	var ts []map[string]any
	for _, x := range list {
		ts = append(ts, x.(map[string]any))
	}
	return ts
}

func num(v any) int64 {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			f, _ := n.Float64()
			return int64(f)
		}
		return i
	case float64:
		return int64(n)
	}
	return -999
}

func fnum(v any) float64 {
	if n, ok := v.(json.Number); ok {
		f, _ := n.Float64()
		return f
	}
	if f, ok := v.(float64); ok {
		return f
	}
	return -999
}

// state is what a malformed request must leave unchanged.
type state struct {
	list     string
	settings engine.Settings
}

func snapshot(t testing.TB, e *engine.Engine) state {
	t.Helper()
	var ts []engine.Torrent
	for _, x := range e.List() {
		full, _ := e.Get(idString(x.ID))
		// Rates and times move on their own.
		full.DownRate, full.UpRate, full.LastActivity, full.StartedAt = 0, 0, x.LastActivity, x.StartedAt
		ts = append(ts, full)
	}
	b, _ := json.Marshal(ts)
	return state{list: string(b), settings: e.Settings()}
}
