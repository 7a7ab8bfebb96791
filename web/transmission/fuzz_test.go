package transmission

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
)

// fenced is the real engine behind a fence for the fuzzer: random requests
// must not send traffic beyond loopback or write, move or delete files
// outside the test's folder, so torrents stay paused and folders outside
// are refused. Everything else is the engine's own code.
type fenced struct {
	*engine.Engine
	dir string
}

var errFenced = &engine.InputError{Msg: "fenced: not in the fuzz test"}

func (f fenced) inside(p string) bool {
	return strings.HasPrefix(filepath.Clean(p)+string(filepath.Separator), f.dir+string(filepath.Separator))
}

func (f fenced) Add(ctx context.Context, req engine.AddRequest) (engine.Torrent, bool, error) {
	req.Paused = true
	if req.Dir != "" && !f.inside(req.Dir) {
		req.Dir = f.dir
	}
	req.Peers = nil
	return f.Engine.Add(ctx, req)
}

func (f fenced) Resume(int64) error     { return errFenced }
func (f fenced) StartNow(int64) error   { return errFenced }
func (f fenced) Verify(int64) error     { return errFenced }
func (f fenced) Reannounce(int64) error { return errFenced }

func (f fenced) SetLocation(id int64, dir string, move bool) error {
	if !f.inside(dir) {
		return errFenced
	}
	return f.Engine.SetLocation(id, dir, move)
}

func (f fenced) SetSettings(p engine.SettingsPatch) (engine.Settings, error) {
	for _, d := range []*string{p.DownloadDir, p.IncompleteDir} {
		if d != nil && *d != "" && !f.inside(*d) {
			return engine.Settings{}, errFenced
		}
	}
	return f.Engine.SetSettings(p)
}

// FuzzRPC throws random bodies (and session ids) at the handler over a
// real engine: nothing may panic or answer 5xx, every classic answer is a
// JSON object with a one-line "result", and a request that fails changes
// nothing.
func FuzzRPC(f *testing.F) {
	tt := enginetest.MakeTorrent(f, f.TempDir(), "fuzz", 0, []enginetest.File{{Path: "a", Size: 3000}, {Path: "b/c", Size: 5000}})
	seeds := []string{
		`{"method":"session-get"}`,
		`{"method":"session-get","arguments":{"fields":["version","peer-port"]},"tag":1}`,
		`{"method":"session-set","arguments":{"speed-limit-down":100,"speed-limit-down-enabled":true,"alt-speed-time-day":62}}`,
		`{"method":"session-stats"}`,
		`{"method":"torrent-add","arguments":{"metainfo":"` + b64(tt.Metainfo) + `","paused":true,"labels":["x"],"files-unwanted":[1],"priority-high":[0]}}`,
		`{"method":"torrent-add","arguments":{"filename":"magnet:?xt=urn:btih:` + strings.Repeat("ab", 20) + `&dn=m"}}`,
		`{"method":"torrent-get","arguments":{"fields":["id","name","files","fileStats","wanted","priorities","peers","pieces","trackerStats"],"ids":[1,"` + tt.InfoHash + `"]}}`,
		`{"method":"torrent-get","arguments":{"fields":["id","status"],"ids":"recently-active","format":"table"}}`,
		`{"method":"torrent-set","arguments":{"ids":[1],"downloadLimit":5,"downloadLimited":true,"seedRatioMode":1,"seedRatioLimit":2,"files-wanted":[],"queuePosition":0}}`,
		`{"method":"torrent-rename-path","arguments":{"ids":[1],"path":"fuzz/b","name":"d"}}`,
		`{"method":"torrent-set-location","arguments":{"ids":[1],"location":"/tmp","move":true}}`,
		`{"method":"queue-move-top","arguments":{"ids":[2]}}`,
		`{"method":"torrent-remove","arguments":{"ids":[2],"delete-local-data":true}}`,
		`{"method":"free-space","arguments":{"path":"/"}}`,
		`{"jsonrpc":"2.0","method":"torrent_get","params":{"fields":["hash_string"]},"id":1}`,
		`[{"jsonrpc":"2.0","method":"session_stats","id":1},{"jsonrpc":"2.0","method":"torrent_stop"}]`,
		`{"method":"torrent-get","arguments":{"fields":["id"],"ids":[1e300,-1,"zz"]}}`,
		`{"method":"port-test"}`,
	}
	for _, s := range seeds {
		f.Add(s, true)
	}
	n := enginetest.StartNode(f, enginetest.NodeOptions{})
	fetch := func(ctx context.Context, url string) ([]byte, error) {
		return []byte("<html>no torrents here</html>"), nil // never the network
	}
	h := NewHandler(Options{Engine: fenced{Engine: n.Engine, dir: n.Dir}, Logger: enginetest.Logger(f), Config: n.Config, Fetch: fetch})
	sid := h.(*handler).sessionID

	f.Fuzz(func(t *testing.T, body string, withID bool) {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9091"+Path, strings.NewReader(body))
		if withID {
			req.Header.Set(HeaderSessionID, sid)
		}
		before := snapshot(t, n.Engine)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%q = %d %s", body, rec.Code, rec.Body.Bytes())
		}
		if !withID {
			if rec.Code != http.StatusConflict {
				t.Fatalf("%q without a session id = %d, want 409", body, rec.Code)
			}
			return
		}
		if rec.Code == http.StatusNoContent || strings.HasPrefix(strings.TrimSpace(body), "[") {
			return // JSON-RPC: checked by its own tests
		}
		var m map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			t.Fatalf("%q: answer %s is not a JSON object", body, rec.Body.Bytes())
		}
		if _, ok := m["jsonrpc"]; ok {
			// JSON-RPC, checked by its own tests. The request need not
			// say "jsonrpc" literally: encoding/json matches keys without
			// regard to case ("jsonrpC", testdata/fuzz/FuzzRPC/03c236c84bdf0922).
			return
		}
		res, _ := m["result"].(string)
		if res == "" || strings.ContainsAny(res, "\r\n") {
			t.Fatalf("%q: result %q, want success or a one-line error", body, m["result"])
		}
		if res != "success" && rec.Code == http.StatusOK && !strings.Contains(body, "torrent-start") &&
			!strings.Contains(body, "torrent-remove") && !strings.Contains(body, "set-location") && !strings.Contains(body, "torrent-stop") {
			// Actions over several torrents do what they can; any other
			// failure must leave everything as it was.
			if after := snapshot(t, n.Engine); after.list != before.list || after.settings.DownloadKBps != before.settings.DownloadKBps {
				t.Fatalf("%q failed (%s) but changed the engine", body, res)
			}
		}
	})
}
