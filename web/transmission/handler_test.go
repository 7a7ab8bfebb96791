package transmission

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
)

var threeFiles = []enginetest.File{{Path: "a.bin", Size: 40 << 10}, {Path: "sub/b.bin", Size: 70 << 10}, {Path: "c.txt", Size: 1000}}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestSessionIDHandshake(t *testing.T) {
	s := startRPC(t)
	tt := enginetest.MakeTorrent(t, t.TempDir(), "csrf", 0, threeFiles)
	add := `{"method":"torrent-add","arguments":{"metainfo":"` + b64(tt.Metainfo) + `","paused":true}}`
	for _, sid := range []string{"", "wrong"} {
		code, h, body := s.post(sid, add)
		if code != http.StatusConflict {
			t.Fatalf("session id %q: HTTP %d, want 409", sid, code)
		}
		id := h.Get(HeaderSessionID)
		if len(id) != 48 || !strings.Contains(string(body), "<code>"+HeaderSessionID+": "+id+"</code>") {
			t.Fatalf("409 answer: header id %q, body %q; want the id in both", id, body)
		}
		s.sid = id
	}
	if n := len(s.eng.List()); n != 0 {
		t.Fatalf("requests without the session id added %d torrents, want none", n)
	}
	code, _, body := s.post(s.sid, add)
	if code != http.StatusOK || !strings.Contains(string(body), `"torrent-added"`) {
		t.Fatalf("with the session id: HTTP %d %s", code, body)
	}
	// Other HTTP methods: 405 once the id is right, 409 before.
	for _, sid := range []string{s.sid, ""} {
		req, _ := http.NewRequest(http.MethodGet, s.url, nil)
		req.Header.Set(HeaderSessionID, sid)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusMethodNotAllowed
		if sid == "" {
			want = http.StatusConflict
		}
		if resp.StatusCode != want {
			t.Errorf("GET with session id %q = %d, want %d", sid, resp.StatusCode, want)
		}
	}
	// transmission-remote posts to the path with a slash.
	req, _ := http.NewRequest(http.MethodPost, s.url+"/", strings.NewReader(`{"method":"session-stats"}`))
	req.Header.Set(HeaderSessionID, s.sid)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("POST %s/ = %d, want 200", Path, resp.StatusCode)
	}
}

func TestTorrentAddGetRemove(t *testing.T) {
	s := startRPC(t)
	tt := enginetest.MakeTorrent(t, t.TempDir(), "album", 32<<10, threeFiles)
	dir := t.TempDir()
	out := s.ok("torrent-add", map[string]any{
		"metainfo": b64(tt.Metainfo), "paused": true, "download-dir": dir, "labels": []string{"music", " lossless "},
		"files-unwanted": []int{2}, "priority-high": []int{0}, "priority-low": []int{1},
	})
	added, _ := out["torrent-added"].(map[string]any)
	if added == nil || added["hashString"] != tt.InfoHash || added["name"] != "album" {
		t.Fatalf("torrent-added = %v, want id, name album, hash %s", out, tt.InfoHash)
	}
	id := num(added["id"])
	dup := s.ok("torrent-add", map[string]any{"metainfo": b64(tt.Metainfo)})
	if d, _ := dup["torrent-duplicate"].(map[string]any); d == nil || num(d["id"]) != id {
		t.Fatalf("second add = %v, want torrent-duplicate with id %d", dup, id)
	}

	all := fieldNames()
	ts := s.torrents([]any{id}, all...)
	if len(ts) != 1 {
		t.Fatalf("torrent-get = %d torrents, want 1", len(ts))
	}
	got := ts[0]
	for _, f := range all {
		if _, ok := got[f]; !ok {
			t.Errorf("torrent-get: field %q missing", f)
		}
	}
	checks := map[string]any{
		"name": "album", "hashString": tt.InfoHash, "downloadDir": dir, "status": json.Number("0"),
		"totalSize": json.Number(fmt.Sprint(40<<10 + 70<<10 + 1000)), "sizeWhenDone": json.Number(fmt.Sprint(40<<10 + 1000)),
		"isFinished": false, "error": json.Number("0"), "file-count": json.Number("3"),
	}
	for k, want := range checks {
		if got[k] != want {
			t.Errorf("%s = %v (%T), want %v", k, got[k], got[k], want)
		}
	}
	if l := got["labels"]; !reflect.DeepEqual(l, []any{"music", "lossless"}) {
		t.Errorf("labels = %v, want [music lossless]", l)
	}
	// Files are sorted: a.bin, c.txt, sub/b.bin.
	if w := got["wanted"]; !reflect.DeepEqual(w, []any{json.Number("1"), json.Number("1"), json.Number("0")}) {
		t.Errorf("wanted = %v, want [1 1 0]", w)
	}
	if p := got["priorities"]; !reflect.DeepEqual(p, []any{json.Number("1"), json.Number("-1"), json.Number("0")}) {
		t.Errorf("priorities = %v, want [1 -1 0]", p)
	}
	files := got["files"].([]any)
	if name := files[2].(map[string]any)["name"]; name != "album/sub/b.bin" {
		t.Errorf("file 2 name = %v, want album/sub/b.bin", name)
	}

	// ids as a hash, a list mixing both, and all.
	if ts := s.torrents(tt.InfoHash, "id"); len(ts) != 1 || num(ts[0]["id"]) != id {
		t.Errorf("ids as a hash: %v", ts)
	}
	if ts := s.torrents([]any{tt.InfoHash, id}, "id"); len(ts) != 1 {
		t.Errorf("ids naming one torrent twice: %d torrents, want 1", len(ts))
	}
	if ts := s.torrents(nil, "id"); len(ts) != 1 {
		t.Errorf("no ids: %d torrents, want all (1)", len(ts))
	}
	// Table format: a header row, then one row per torrent.
	table := s.ok("torrent-get", map[string]any{"fields": []string{"id", "name", "noSuchField"}, "format": "table"})
	if rows := table["torrents"].([]any); len(rows) != 2 || !reflect.DeepEqual(rows[0], []any{"id", "name"}) || rows[1].([]any)[1] != "album" {
		t.Errorf("table = %v, want [[id name] [%d album]]", rows, id)
	}
	// recently-active includes a just-added torrent; after removal its id
	// is in "removed".
	recent := s.ok("torrent-get", map[string]any{"fields": []string{"id"}, "ids": "recently-active"})
	if l := recent["torrents"].([]any); len(l) != 1 {
		t.Errorf("recently-active = %v, want the new torrent", recent)
	}
	if msg := s.fails("torrent-get", map[string]any{"fields": []string{"id"}, "ids": []int{99}}); !strings.Contains(msg, "99") {
		t.Errorf("torrent-get of a missing id: %q, want it named", msg)
	}
	if err := os.MkdirAll(filepath.Join(dir, "album"), 0o755); err != nil {
		t.Fatal(err)
	}
	s.ok("torrent-remove", map[string]any{"ids": []any{id}, "delete-local-data": true})
	recent = s.ok("torrent-get", map[string]any{"fields": []string{"id"}, "ids": "recently-active"})
	if !reflect.DeepEqual(recent["removed"], []any{json.Number(fmt.Sprint(id))}) || len(recent["torrents"].([]any)) != 0 {
		t.Errorf("recently-active after remove = %v, want removed [%d] and no torrents", recent, id)
	}
	if _, err := os.Stat(filepath.Join(dir, "album")); !os.IsNotExist(err) {
		t.Errorf("delete-local-data left the torrent's folder (err %v)", err)
	}
}

// fieldNames lists every torrent-get field.
func fieldNames() []string {
	var out []string
	for k := range torrentFields {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestTorrentAddSources(t *testing.T) {
	tt := enginetest.MakeTorrent(t, t.TempDir(), "from url", 0, threeFiles[:1])
	var hits atomic.Int32
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/t.torrent":
			w.Write(tt.Metainfo)
		case "/magnet":
			http.Redirect(w, r, "magnet:?xt=urn:btih:"+strings.Repeat("cd", 20)+"&dn=redirected", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer web.Close()
	s := startRPC(t)
	brief := func(out map[string]any) map[string]any {
		b, _ := out["torrent-added"].(map[string]any)
		if b == nil {
			t.Fatalf("no torrent-added in %v", out)
		}
		return b
	}
	if b := brief(s.ok("torrent-add", map[string]any{"filename": web.URL + "/t.torrent", "paused": true})); b["hashString"] != tt.InfoHash {
		t.Errorf("URL add = %v, want hash %s", b, tt.InfoHash)
	}
	if b := brief(s.ok("torrent-add", map[string]any{"filename": web.URL + "/magnet", "paused": true})); b["name"] != "redirected" {
		t.Errorf("URL redirecting to a magnet = %v, want name redirected", b)
	}
	magnet := "magnet:?xt=urn:btih:" + strings.Repeat("ab", 20) + "&dn=by%20magnet"
	if b := brief(s.ok("torrent-add", map[string]any{"filename": magnet, "paused": true, "files-wanted": []int{0}})); b["name"] != "by magnet" {
		t.Errorf("magnet add = %v", b)
	}
	if b := brief(s.ok("torrent-add", map[string]any{"filename": strings.Repeat("ef", 20), "paused": true})); b["hashString"] != strings.Repeat("ef", 20) {
		t.Errorf("info hash add = %v", b)
	}
	other := enginetest.MakeTorrent(t, t.TempDir(), "from path", 0, threeFiles[:1])
	p := filepath.Join(t.TempDir(), "x.torrent")
	if err := os.WriteFile(p, other.Metainfo, 0o644); err != nil {
		t.Fatal(err)
	}
	if b := brief(s.ok("torrent-add", map[string]any{"filename": p, "paused": true})); b["hashString"] != other.InfoHash {
		t.Errorf("path add = %v", b)
	}
	before := snapshot(t, s.eng)
	for _, bad := range []map[string]any{
		{"filename": web.URL + "/missing.torrent"},
		{"filename": "relative/x.torrent"},
		{"filename": "/dev/zero"},
		{"filename": "magnet:?xs=urn:btpk:" + strings.Repeat("0", 64)},
		{"filename": "magnet:?dn=no-hash"},
		{"filename": "ftp://127.0.0.1/x.torrent"},
		{"metainfo": "!!! not base64"},
		{"metainfo": b64([]byte("d4:infod6:lengthi1eee"))},
		{},
		{"filename": magnet, "files-unwanted": []int{0}},
		{"metainfo": b64(tt.Metainfo), "files-unwanted": []int{5}},
		{"metainfo": b64(tt.Metainfo), "labels": []string{"a,b"}},
		{"metainfo": b64(tt.Metainfo), "download-dir": "relative"},
		{"metainfo": b64(tt.Metainfo), "cookies": "a=b"},
		{"metainfo": b64(tt.Metainfo), "bandwidthPriority": 1},
		{"metainfo": b64(tt.Metainfo), "paused": "maybe"},
		{"metainfo": b64(tt.Metainfo), "bogus": 1},
	} {
		s.fails("torrent-add", bad)
	}
	if after := snapshot(t, s.eng); !reflect.DeepEqual(after, before) {
		t.Errorf("failed adds changed the engine:\n%+v\n%+v", before, after)
	}
}

func TestTorrentSetAndActions(t *testing.T) {
	s := startRPC(t)
	tt := enginetest.MakeTorrent(t, t.TempDir(), "settable", 0, threeFiles)
	id := num(s.ok("torrent-add", map[string]any{"metainfo": b64(tt.Metainfo), "paused": true})["torrent-added"].(map[string]any)["id"])
	ids := []any{id}
	s.ok("torrent-set", map[string]any{
		"ids": ids, "downloadLimit": 300, "downloadLimited": true, "uploadLimit": 50, "uploadLimited": true,
		"seedRatioMode": 1, "seedRatioLimit": 2.5, "seedIdleMode": 1, "seedIdleLimit": 90,
		"files-unwanted": []int{1}, "priority-high": []int{2}, "labels": []string{"x"},
		"bandwidthPriority": 0, "honorsSessionLimits": true, "peer-limit": s.node.Config.Torrent.ConnsPerTorrent,
	})
	x, _ := s.eng.Get(idString(id))
	if o := x.Options; o.DownloadKBps != 300 || o.UploadKBps != 50 || o.SeedRatio != 2.5 || o.SeedIdle != 90*time.Minute {
		t.Errorf("options = %+v, want 300/50 KB/s, ratio 2.5, idle 90m", o)
	}
	if x.Files[1].Wanted || x.Files[2].Priority != engine.PriorityHigh || !slices.Equal(x.Labels, []string{"x"}) {
		t.Errorf("files/labels = %+v %q", x.Files, x.Labels)
	}
	got := s.torrents(ids, "downloadLimit", "downloadLimited", "seedRatioMode", "seedRatioLimit", "seedIdleMode", "seedIdleLimit")[0]
	if num(got["downloadLimit"]) != 300 || got["downloadLimited"] != true || num(got["seedRatioMode"]) != 1 ||
		fnum(got["seedRatioLimit"]) != 2.5 || num(got["seedIdleMode"]) != 1 || num(got["seedIdleLimit"]) != 90 {
		t.Errorf("torrent-get after set = %v", got)
	}
	// Off keeps the value for the remote to show; on again restores it.
	s.ok("torrent-set", map[string]any{"ids": ids, "downloadLimited": false, "seedRatioMode": 2})
	got = s.torrents(ids, "downloadLimit", "downloadLimited", "seedRatioMode")[0]
	if x, _ := s.eng.Get(idString(id)); x.Options.DownloadKBps != 0 || x.Options.SeedRatio != 0 ||
		got["downloadLimited"] != false || num(got["downloadLimit"]) != 300 || num(got["seedRatioMode"]) != 2 {
		t.Errorf("after turning off: options %+v, torrent-get %v", x.Options, got)
	}
	s.ok("torrent-set", map[string]any{"ids": ids, "downloadLimited": true, "seedRatioMode": 0})
	if x, _ := s.eng.Get(idString(id)); x.Options.DownloadKBps != 300 || x.Options.SeedRatio != -1 {
		t.Errorf("after turning on again: %+v, want 300 KB/s and the global ratio", x.Options)
	}

	// Bad requests change nothing, however much else they carry.
	before := snapshot(t, s.eng)
	for _, bad := range []map[string]any{
		{"ids": ids, "downloadLimit": 10, "seedRatioMode": 7},
		{"ids": ids, "uploadLimit": 5, "files-wanted": []int{9}},
		{"ids": []any{id, 42}, "downloadLimit": 10},
		{"ids": ids, "labels": []string{"ok", "not,ok"}},
		{"ids": ids, "bandwidthPriority": 1},
		{"ids": ids, "peer-limit": 3},
		{"ids": ids, "trackerAdd": []string{"http://127.0.0.1:1/announce"}},
		{"ids": ids, "queuePosition": -1},
		{"ids": ids, "location": "relative"},
		{"ids": ids, "downloadLimited": "yes"},
		{"ids": ids, "downloadLimit": 1.5},
		{"ids": ids, "unknownKey": true},
		{"ids": "nonsense"},
		{"ids": ids, "downloadLimit": 0, "downloadLimited": true},
	} {
		s.fails("torrent-set", bad)
	}
	if after := snapshot(t, s.eng); !reflect.DeepEqual(after, before) {
		t.Errorf("failed torrent-set changed the engine:\n%s\n%s", before.list, after.list)
	}

	// Actions.
	s.ok("torrent-start", map[string]any{"ids": ids})
	if x, _ := s.eng.Get(idString(id)); x.State == engine.StateStopped {
		t.Errorf("after torrent-start the torrent is stopped")
	}
	s.ok("torrent-stop", map[string]any{"ids": ids})
	if x, _ := s.eng.Get(idString(id)); x.State != engine.StateStopped {
		t.Errorf("after torrent-stop: %s", x.State)
	}
	s.ok("torrent-start-now", map[string]any{"ids": ids})
	s.ok("torrent-reannounce", map[string]any{"ids": ids})
	s.ok("torrent-verify", nil)
	s.ok("torrent-stop", nil)
	if msg := s.fails("torrent-start", map[string]any{"ids": []any{id, 77}}); !strings.Contains(msg, "77") {
		t.Errorf("torrent-start with a missing id: %q", msg)
	}
	if x, _ := s.eng.Get(idString(id)); x.State != engine.StateStopped {
		t.Errorf("a failed torrent-start started torrent %d", id)
	}
	s.fails("torrent-stop", map[string]any{"ids": -1}) // transmission-remote's "no torrent given"
}

func TestQueueLocationRename(t *testing.T) {
	s := startRPC(t)
	var ids []int64
	for i := range 4 {
		tt := enginetest.MakeTorrent(t, t.TempDir(), fmt.Sprintf("q%d", i), 0, threeFiles[:1])
		out := s.ok("torrent-add", map[string]any{"metainfo": b64(tt.Metainfo), "paused": true})
		ids = append(ids, num(out["torrent-added"].(map[string]any)["id"]))
	}
	order := func() []int64 {
		var out []int64
		for _, x := range s.eng.List() {
			out = append(out, x.ID)
		}
		return out
	}
	a, b, c, d := ids[0], ids[1], ids[2], ids[3]
	steps := []struct {
		method string
		ids    []any
		want   []int64
	}{
		{"queue-move-bottom", []any{a}, []int64{b, c, d, a}},
		{"queue-move-top", []any{d, c}, []int64{c, d, b, a}},
		{"queue-move-up", []any{a}, []int64{c, d, a, b}},
		{"queue-move-down", []any{c, d}, []int64{a, c, d, b}},
	}
	for _, st := range steps {
		s.ok(st.method, map[string]any{"ids": st.ids})
		if got := order(); !slices.Equal(got, st.want) {
			t.Errorf("%s %v: order %v, want %v", st.method, st.ids, got, st.want)
		}
	}
	s.ok("torrent-set", map[string]any{"ids": []any{b}, "queuePosition": 0})
	if got := order(); got[0] != b {
		t.Errorf("queuePosition 0: order %v", got)
	}

	// Seeding torrent: move it, rename it.
	tt := enginetest.MakeTorrent(t, t.TempDir(), "seeded", 32<<10, threeFiles)
	out := s.ok("torrent-add", map[string]any{"metainfo": b64(tt.Metainfo), "download-dir": tt.Dir})
	id := num(out["torrent-added"].(map[string]any)["id"])
	enginetest.WaitFor(t, s.eng, idString(id), time.Minute, "seeding", func(x engine.Torrent) bool { return x.State == engine.StateSeeding })
	dst := filepath.Join(t.TempDir(), "moved")
	s.ok("torrent-set-location", map[string]any{"ids": []any{id}, "location": dst, "move": true})
	if _, err := os.Stat(filepath.Join(dst, "seeded", "sub", "b.bin")); err != nil {
		t.Errorf("after set-location with move: %v", err)
	}
	s.fails("torrent-set-location", map[string]any{"ids": []any{id}, "location": "relative", "move": true})
	renamed := s.ok("torrent-rename-path", map[string]any{"ids": []any{id}, "path": "seeded/sub", "name": "disc"})
	if renamed["path"] != "seeded/sub" || renamed["name"] != "disc" || num(renamed["id"]) != id {
		t.Errorf("rename answer = %v", renamed)
	}
	files := s.torrents([]any{id}, "files")[0]["files"].([]any)
	if n := files[2].(map[string]any)["name"]; n != "seeded/disc/b.bin" {
		t.Errorf("after rename, file 2 = %v, want seeded/disc/b.bin", n)
	}
	s.fails("torrent-rename-path", map[string]any{"ids": []any{id}, "path": "seeded/disc", "name": "../../etc"})
	s.fails("torrent-rename-path", map[string]any{"path": "seeded", "name": "x"}) // more than one torrent
}

func TestSession(t *testing.T) {
	var closed atomic.Bool
	s := startRPC(t, func(o *Options) { o.Shutdown = func() { closed.Store(true) } })
	all := s.ok("session-get", nil)
	for _, k := range []string{"alt-speed-down", "alt-speed-time-day", "download-dir", "encryption", "peer-port",
		"rpc-version", "rpc-version-minimum", "session-id", "speed-limit-down-enabled", "units", "version", "seedRatioLimit",
		"incomplete-dir-enabled", "download-queue-size", "config-dir", "peer-limit-per-torrent"} {
		if _, ok := all[k]; !ok {
			t.Errorf("session-get: %s missing", k)
		}
	}
	if num(all["rpc-version"]) != rpcVersion || all["session-id"] != s.sid || num(all["peer-port"]) != int64(s.eng.Stats().PeerPort) {
		t.Errorf("session-get = rpc %v, id %v, port %v", all["rpc-version"], all["session-id"], all["peer-port"])
	}
	// The *arr apps parse the first number of "version" and want 2.40 or more.
	if all["version"] != "4.0.0 (hearth test)" {
		t.Errorf("version = %q, want 4.0.0 (hearth test)", all["version"])
	}
	some := s.ok("session-get", map[string]any{"fields": []string{"version", "download_dir", "nonsense"}})
	if len(some) != 2 || some["download-dir"] == nil {
		t.Errorf("session-get with fields = %v, want version and download-dir", some)
	}

	inc := filepath.Join(t.TempDir(), "incomplete")
	dl := filepath.Join(t.TempDir(), "downloads")
	s.ok("session-set", map[string]any{
		"speed-limit-down": 800, "speed-limit-down-enabled": true, "speed-limit-up-enabled": false,
		"alt-speed-down": 20, "alt-speed-up": 10, "alt-speed-time-begin": 60, "alt-speed-time-end": 7 * 60,
		"alt-speed-time-day": 0x3e, "alt-speed-time-enabled": false, "alt-speed-enabled": true,
		"download-queue-enabled": true, "download-queue-size": 3, "seed-queue-enabled": false,
		"seedRatioLimited": true, "seedRatioLimit": 1.5, "idle-seeding-limit-enabled": true, "idle-seeding-limit": 45,
		"incomplete-dir": inc, "incomplete-dir-enabled": true, "download-dir": dl, "encryption": "required",
		// Echoed back unchanged, as settings dialogs do:
		"dht-enabled": all["dht-enabled"], "pex-enabled": true, "lpd-enabled": false, "blocklist-enabled": false,
		"version": "whatever", "units": all["units"],
	})
	st := s.eng.Settings()
	want := engine.Settings{
		DownloadKBps: 800, UploadKBps: 0, MaxDownloads: 3, MaxSeeds: 0, SeedRatio: 1.5, SeedIdle: 45 * time.Minute,
		DownloadDir: dl, IncompleteDir: inc, AltDownloadKBps: 20, AltUploadKBps: 10, AltEnabled: true, AltScheduled: false,
		AltBegin: "01:00", AltEnd: "07:00", AltDays: "weekdays", PeerPort: st.PeerPort, Encryption: "require",
		PendingRestart: []string{"encryption"},
	}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("settings after session-set:\n got %+v\nwant %+v", st, want)
	}
	saved, err := engine.RuntimeSettings(s.node.Store)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"limits.download_kbps": "800", "limits.alt_begin": "01:00", "limits.alt_days": "weekdays",
		"limits.alt_enabled": "true", "queue.max_downloads": "3", "torrent.incomplete_dir": inc, "torrent.encryption": "require"} {
		if saved[k] != v {
			t.Errorf("saved %s = %q, want %q", k, saved[k], v)
		}
	}
	back := s.ok("session-get", nil)
	for k, v := range map[string]any{"speed-limit-down": json.Number("800"), "speed-limit-down-enabled": true, "alt-speed-time-begin": json.Number("60"),
		"alt-speed-time-day": json.Number("62"), "encryption": "required", "incomplete-dir": inc, "incomplete-dir-enabled": true,
		"seedRatioLimited": true, "idle-seeding-limit": json.Number("45"), "download-queue-size": json.Number("3")} {
		if back[k] != v {
			t.Errorf("session-get %s = %v, want %v", k, back[k], v)
		}
	}

	before := snapshot(t, s.eng)
	for _, bad := range []map[string]any{
		{"speed-limit-down": 5, "dht-enabled": !all["dht-enabled"].(bool)},
		{"alt-speed-time-begin": 1440},
		{"alt-speed-time-day": 0},
		{"encryption": "sometimes"},
		{"download-dir": "relative"},
		{"peer-port": 70000},
		{"blocklist-enabled": true},
		{"script-torrent-done-enabled": true},
		{"seedRatioLimited": true, "seedRatioLimit": -1},
		{"speed-limit-up-enabled": true},
		{"not-a-setting": 1},
	} {
		s.fails("session-set", bad)
	}
	if after := snapshot(t, s.eng); after.settings.DownloadKBps != before.settings.DownloadKBps || !reflect.DeepEqual(after.settings, before.settings) {
		t.Errorf("failed session-set changed settings:\n%+v\n%+v", before.settings, after.settings)
	}
	out := s.ok("session-set", map[string]any{"peer-port": 51234})
	if note, _ := out["hearth-note"].(string); !strings.Contains(note, "peer-port") || !strings.Contains(note, "restart") || s.eng.Settings().PeerPort != 51234 {
		t.Errorf("peer-port: answer %v, saved %d; want a note that it applies after a restart", out, s.eng.Settings().PeerPort)
	}

	stats := s.ok("session-stats", nil)
	if cs := stats["cumulative-stats"].(map[string]any); num(cs["sessionCount"]) != 1 {
		t.Errorf("session-stats = %v", stats)
	}
	fs := s.ok("free-space", map[string]any{"path": t.TempDir()})
	if num(fs["size-bytes"]) <= 0 || num(fs["total_size"]) < num(fs["size-bytes"]) {
		t.Errorf("free-space = %v", fs)
	}
	s.fails("free-space", map[string]any{"path": "relative"})
	s.fails("free-space", map[string]any{"path": "/no/such/folder"})
	if msg := s.fails("port-test", nil); !strings.Contains(msg, "not supported") {
		t.Errorf("port-test = %q", msg)
	}
	s.fails("blocklist-update", nil)
	s.fails("group-set", map[string]any{"name": "x"})
	s.ok("group-get", nil)
	if msg := s.fails("torrent-explode", nil); !strings.Contains(msg, "not supported") {
		t.Errorf("unknown method = %q", msg)
	}
	if r := s.call("session-stats", nil); r.Result != "success" {
		t.Errorf("session-stats: %q", r.Result)
	}
	code, body := s.send(`{"method":"session-get","arguments":{"fields":["version"]},"tag":4711}`)
	if code != 200 || !strings.Contains(string(body), `"tag":4711`) {
		t.Errorf("tag not echoed: %d %s", code, body)
	}
	s.fails("session-close", map[string]any{"now": true})
	if closed.Load() {
		t.Fatal("shutdown called before a valid session-close")
	}
	s.ok("session-close", nil)
	if !closed.Load() {
		t.Errorf("session-close did not call Shutdown")
	}
}

func TestJSONRPC(t *testing.T) {
	s := startRPC(t)
	tt := enginetest.MakeTorrent(t, t.TempDir(), "jsonrpc", 0, threeFiles[:2])
	type rpcResp struct {
		JSONRPC string          `json:"jsonrpc"`
		Result  json.RawMessage `json:"result"`
		Error   *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		ID any `json:"id"`
	}
	call := func(body string) rpcResp {
		t.Helper()
		code, b := s.send(body)
		if code != http.StatusOK {
			t.Fatalf("%s: HTTP %d %s", body, code, b)
		}
		var r rpcResp
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("%s: %s: %v", body, b, err)
		}
		return r
	}
	r := call(`{"jsonrpc":"2.0","method":"torrent_add","params":{"metainfo":"` + b64(tt.Metainfo) + `","paused":true,"download_dir":"` + t.TempDir() + `"},"id":7}`)
	if r.Error != nil || r.ID != float64(7) || !strings.Contains(string(r.Result), `"torrent_added"`) || !strings.Contains(string(r.Result), `"hash_string"`) {
		t.Fatalf("torrent_add = %+v %s", r, r.Result)
	}
	r = call(`{"jsonrpc":"2.0","method":"torrent_get","params":{"fields":["id","rate_download","file_stats","hashString"]},"id":"a"}`)
	var got struct {
		Torrents []map[string]any `json:"torrents"`
	}
	json.Unmarshal(r.Result, &got)
	if len(got.Torrents) != 1 || got.Torrents[0]["hash_string"] != tt.InfoHash || got.Torrents[0]["rate_download"] == nil || got.Torrents[0]["file_stats"] == nil {
		t.Errorf("torrent_get = %s", r.Result)
	}
	if fs := got.Torrents[0]["file_stats"].([]any); fs[0].(map[string]any)["bytes_completed"] == nil {
		t.Errorf("nested keys not in snake_case: %v", fs)
	}
	r = call(`{"jsonrpc":"2.0","method":"session_get","params":{"fields":["peer_port","alt_speed_time_day"]},"id":1}`)
	if !strings.Contains(string(r.Result), `"peer_port"`) || !strings.Contains(string(r.Result), `"alt_speed_time_day"`) {
		t.Errorf("session_get = %s", r.Result)
	}
	for body, code := range map[string]int{
		`{"jsonrpc":"2.0","method":"nope","id":1}`:                                codeMethodNotFound,
		`{"jsonrpc":"2.0","method":"torrent_set","params":{"ids":[99]},"id":1}`:   codeInvalidParams,
		`{"jsonrpc":"1.0","method":"session_get","id":1}`:                         codeInvalidRequest,
		`{"jsonrpc":"2.0","method":"session_get","params":[1,2],"id":1}`:          codeInvalidParams,
		`{"jsonrpc":"2.0","method":"session_get","arguments":{},"id":1}`:          codeInvalidRequest,
		`{"jsonrpc":"2.0","method":"torrent_get","params":{"fields":"x"},"id":1}`: codeInvalidParams,
	} {
		if r := call(body); r.Error == nil || r.Error.Code != code {
			t.Errorf("%s: error %+v, want code %d", body, r.Error, code)
		}
	}
	// A notification gets no body.
	if code, b := s.send(`{"jsonrpc":"2.0","method":"torrent_stop"}`); code != http.StatusNoContent || len(b) != 0 {
		t.Errorf("notification: HTTP %d %q, want 204 and no body", code, b)
	}
	code, b := s.send(`[{"jsonrpc":"2.0","method":"session_stats","id":1},{"jsonrpc":"2.0","method":"torrent_stop"},{"jsonrpc":"2.0","method":"x","id":2}]`)
	var batch []rpcResp
	if err := json.Unmarshal(b, &batch); err != nil || code != 200 || len(batch) != 2 || batch[0].Error != nil || batch[1].Error == nil {
		t.Errorf("batch: HTTP %d %s", code, b)
	}
	if r := call(`[]`); r.Error == nil || r.Error.Code != codeInvalidRequest {
		t.Errorf("empty batch: %+v", r)
	}
}

func TestBadRequests(t *testing.T) {
	s := startRPC(t)
	tt := enginetest.MakeTorrent(t, t.TempDir(), "bad", 0, threeFiles[:1])
	s.ok("torrent-add", map[string]any{"metainfo": b64(tt.Metainfo), "paused": true})
	before := snapshot(t, s.eng)
	cases := []struct {
		body string
		code int
	}{
		{``, http.StatusBadRequest},
		{`{`, http.StatusBadRequest},
		{`not json`, http.StatusBadRequest},
		{`{"method":"torrent-stop"} trailing`, http.StatusBadRequest},
		{`{"method":"torrent-stop"}{"method":"torrent-remove"}`, http.StatusBadRequest},
		{`{"method":"torrent-remove","extra":1}`, http.StatusBadRequest},
		{`{"method":5}`, http.StatusBadRequest},
		{`[1,2]`, http.StatusOK}, // a JSON-RPC batch of junk: per-item errors
		{`{"method":"torrent-remove","arguments":[1]}`, http.StatusOK},
		{`{"method":"torrent-remove","arguments":{"ids":{"a":1}}}`, http.StatusOK},
		{`{"method":"torrent-remove","arguments":{"ids":[1],"delete-local-data":"yes please"}}`, http.StatusOK},
		{`{"method":"torrent-remove","arguments":{"ids":[1]},"tag":{"x":1}}`, http.StatusOK},
		{`{"method":"torrent-remove","arguments":{"ids":[1]},"params":{}}`, http.StatusOK},
		{`{"method":"torrent-remove","arguments":{"ids":[1], "ids_":2}}`, http.StatusOK},
		{`{"method":"torrent-remove","arguments":{"ids":[1],"delete-local-data":true,"delete_local_data":false}}`, http.StatusOK},
		{`{"method":"torrent-remove","arguments":{"ids":[1e400]}}`, http.StatusOK},
		{`{"method":"torrent-remove","arguments":{"ids":[1.5]}}`, http.StatusOK},
		{`{"method":"torrent-remove","arguments":{"ids":["zz"]}}`, http.StatusOK},
		{`{"arguments":{"ids":[1]}}`, http.StatusOK},
		{`{"method":"torrent-get","arguments":{"fields":[1,2]}}`, http.StatusOK},
		{`{"method":"torrent-get","arguments":{"fields":["id"],"format":"xml"}}`, http.StatusOK},
		{`{"method":"torrent-get","arguments":{}}`, http.StatusOK},
		{`{"method":"session-set","arguments":{"speed-limit-down":"fast"}}`, http.StatusOK},
		{`{"method":"torrent-add","arguments":{"metainfo":12}}`, http.StatusOK},
	}
	for _, c := range cases {
		code, b := s.send(c.body)
		if code != c.code {
			t.Errorf("%q: HTTP %d %s, want %d", c.body, code, b, c.code)
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			if strings.HasPrefix(c.body, "[") {
				continue
			}
			t.Errorf("%q: body %s is not a JSON object", c.body, b)
			continue
		}
		if res, _ := m["result"].(string); res == "success" || res == "" || strings.ContainsAny(res, "\r\n") {
			t.Errorf("%q: result %q, want a one-line error", c.body, m["result"])
		}
	}
	if after := snapshot(t, s.eng); !reflect.DeepEqual(after, before) {
		t.Errorf("bad requests changed the engine:\n%s\n%s", before.list, after.list)
	}
	// A body over the limit is refused before it is read whole.
	big := `{"method":"torrent-add","arguments":{"metainfo":"` + strings.Repeat("A", maxBody) + `"}}`
	if code, _ := s.send(big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("huge body: HTTP %d, want 413", code)
	}
}

func TestSnakeName(t *testing.T) {
	for in, want := range map[string]string{
		"peer-limit": "peer_limit", "rateDownload": "rate_download", "isUTP": "is_utp", "hashString": "hash_string",
		"fromDht": "from_dht", "alt-speed-time-begin": "alt_speed_time_begin", "total_size": "total_size",
		"seedRatioLimited": "seed_ratio_limited", "file-count": "file_count", "id": "id",
	} {
		if got := snakeName(in); got != want {
			t.Errorf("snakeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRemoteStyleFetchFailure(t *testing.T) {
	s := startRPC(t, func(o *Options) {
		o.Fetch = func(ctx context.Context, url string) ([]byte, error) { return nil, fmt.Errorf("connection refused") }
	})
	if msg := s.fails("torrent-add", map[string]any{"filename": "http://127.0.0.1:1/x.torrent"}); !strings.Contains(msg, "cannot fetch") {
		t.Errorf("fetch failure: %q", msg)
	}
}
