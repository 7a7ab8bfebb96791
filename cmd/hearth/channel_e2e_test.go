package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2"
	alog "github.com/anacrolix/log"
	"golang.org/x/time/rate"

	"github.com/hearth-media/hearth/engine/channel"
	"github.com/hearth-media/hearth/engine/mutable"
	"github.com/hearth-media/hearth/engine/mutable/mutabletest"
)

// TestChannelE2E runs two real daemons on a private DHT on loopback: one
// publishes a folder of photos with "hearth channel", the other
// subscribes with "hearth subscribe" and gets version 1, then version 2
// with one more photo, without anyone doing anything on its side.
func TestChannelE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two daemons")
	}
	nodes := startPeerDHT(t, 3)
	env := []string{
		"HEARTH_TORRENT_DHT=true",
		"HEARTH_TORRENT_DHT_BOOTSTRAP=" + strings.Join(nodes, ","),
		"HEARTH_CHANNELS_POLL_INTERVAL=1s",
		"HEARTH_CHANNELS_LAN=false",
	}
	pub := startDaemonProc(t, t.TempDir(), env...)
	sub := startDaemonProc(t, t.TempDir(), env...)

	photos := t.TempDir()
	writeRandom(t, filepath.Join(photos, "summer", "IMG_0001.jpg"), 300_000)
	writeRandom(t, filepath.Join(photos, "summer", "IMG_0002.jpg"), 450_123)
	writeRandom(t, filepath.Join(photos, "summer", "beach", "IMG_0003.jpg"), 123_456)
	out := pub.mustCLI("channel", "create", "Family photos")
	if !strings.Contains(out, "magnet:?xs=urn:btpk:") {
		t.Errorf("channel create printed %q, want the link", out)
	}
	pub.mustCLI("channel", "add", "Family photos", filepath.Join(photos, "summer"))
	out = pub.mustCLI("channel", "publish", "Family photos")
	if !strings.Contains(out, "version 1: 3 files") {
		t.Errorf("channel publish printed %q", out)
	}
	link := strings.TrimSpace(pub.mustCLI("channel", "link", "Family photos"))
	if _, err := channel.ParseLink(link); err != nil {
		t.Fatalf("channel link printed %q: %v", link, err)
	}
	if out := pub.mustCLI("channel", "ls"); !strings.Contains(out, "Family photos") || !strings.Contains(out, "published") {
		t.Errorf("channel ls = %q", out)
	}

	out = sub.mustCLI("subscribe", link)
	if !strings.Contains(out, "subscribed to Family photos") {
		t.Errorf("subscribe printed %q", out)
	}
	s := waitSubscriptionE2E(t, sub, 1)
	sameDir(t, photos, "summer", filepath.Join(s.Dir, "summer"))
	if s.NewItems != 3 {
		t.Errorf("new items = %d, want 3", s.NewItems)
	}
	if out := sub.mustCLI("subscriptions"); !strings.Contains(out, "synced") || !strings.Contains(out, "Family photos") {
		t.Errorf("subscriptions = %q", out)
	}
	sub.mustCLI("subscriptions", "Family photos", "--seen")

	// One more photo: the subscriber gets it without doing anything.
	more := t.TempDir()
	writeRandom(t, filepath.Join(more, "IMG_0004.jpg"), 222_222)
	pub.mustCLI("channel", "add", "Family photos", filepath.Join(more, "IMG_0004.jpg"))
	pub.mustCLI("channel", "publish", "Family photos")
	s = waitSubscriptionE2E(t, sub, 2)
	sameDir(t, photos, "summer", filepath.Join(s.Dir, "summer"))
	if b, _ := os.ReadFile(filepath.Join(s.Dir, "IMG_0004.jpg")); len(b) != 222_222 {
		t.Errorf("IMG_0004.jpg has %d bytes, want 222222", len(b))
	}
	if s.NewItems != 1 || s.Downloaded > 2*(222_222+256<<10) {
		t.Errorf("version 2: %d new items, %d bytes downloaded; want 1 and about 222222", s.NewItems, s.Downloaded)
	}

	// The secret key is only in the backup.
	keyFile := filepath.Join(t.TempDir(), "family.key")
	pub.mustCLI("channel", "export-key", "Family photos", "--out", keyFile)
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key backup: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	var kb channel.KeyBackup
	b, _ := os.ReadFile(keyFile)
	if err := json.Unmarshal(b, &kb); err != nil || len(kb.SecretKey) != 64 {
		t.Fatalf("key backup %s: %v", b, err)
	}
	if strings.Contains(pub.logs.String(), kb.SecretKey) {
		t.Error("the publisher's log holds the secret key")
	}
	if code, _, _ := pub.cli("channel", "export-key", "Family photos", "--out", keyFile); code == 0 {
		t.Error("export-key overwrote an existing file")
	}
	sub.mustCLI("unsubscribe", "Family photos")
	if out := sub.mustCLI("subscriptions"); !strings.Contains(out, "no subscriptions") {
		t.Errorf("after unsubscribe: %q", out)
	}
	// A channel link is accepted wherever a magnet is — "hearth add", POST
	// /api/v1/torrents, the Transmission RPC's torrent-add — and each
	// subscribes, with the same rules: what cannot apply to a channel
	// (paused, file choices) is refused in the same words.
	const notPaused = "cannot be added paused"
	if code, _, errOut := sub.cli("add", link, "--paused"); code == 0 || !strings.Contains(errOut, notPaused) {
		t.Errorf("hearth add LINK --paused = exit %d, %q; want a refusal with %q", code, errOut, notPaused)
	}
	if code, msg := apiPost(t, sub, "/api/v1/torrents", map[string]any{"magnet": link, "paused": true}); code != 400 || !strings.Contains(msg, notPaused) {
		t.Errorf("POST /api/v1/torrents paused = %d %q; want 400 with %q", code, msg, notPaused)
	}
	if res := rpcCall(t, sub, "torrent-add", map[string]any{"filename": link, "paused": true}); !strings.Contains(res.Result, notPaused) {
		t.Errorf("RPC torrent-add paused = %q; want a refusal with %q", res.Result, notPaused)
	}
	if out := sub.mustCLI("subscriptions"); !strings.Contains(out, "no subscriptions") {
		t.Errorf("refused adds subscribed: %q", out)
	}
	if out := sub.mustCLI("add", link); !strings.Contains(out, "subscribed to Family photos") {
		t.Errorf("add of a channel link printed %q", out)
	}
	waitSubscriptionE2E(t, sub, 2)
	sub.mustCLI("unsubscribe", "Family photos")
	if code, _ := apiPost(t, sub, "/api/v1/torrents", map[string]any{"magnet": link}); code != 201 {
		t.Errorf("POST /api/v1/torrents with the channel link = %d, want 201", code)
	}
	waitSubscriptionE2E(t, sub, 2)
	sub.mustCLI("unsubscribe", "Family photos")
	var chs struct{ Channels []channel.Channel }
	if err := json.Unmarshal([]byte(pub.mustCLI("channel", "ls", "--json")), &chs); err != nil || len(chs.Channels) != 1 {
		t.Fatalf("channel ls --json: %v", err)
	}
	res := rpcCall(t, sub, "torrent-add", map[string]any{"filename": link})
	added, _ := res.Arguments["torrent-added"].(map[string]any)
	if res.Result != "success" || added["hashString"] != chs.Channels[0].InfoHash {
		t.Errorf("RPC torrent-add of the channel link = %+v, want torrent-added with version 2's torrent %s", res, chs.Channels[0].InfoHash)
	}
	s = waitSubscriptionE2E(t, sub, 2)
	if id, _ := added["id"].(float64); int64(id) != s.TorrentID {
		t.Errorf("RPC torrent-added id %v, subscription's torrent %d", added["id"], s.TorrentID)
	}
	res = rpcCall(t, sub, "torrent-add", map[string]any{"filename": link})
	if _, ok := res.Arguments["torrent-duplicate"]; res.Result != "success" || !ok {
		t.Errorf("second RPC torrent-add of the channel link = %+v, want torrent-duplicate", res)
	}
}

// apiPost posts JSON to the daemon's API (loopback: trusted) and returns
// the status and the error message, if any.
func apiPost(t *testing.T, d *daemonProc, path string, body any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(d.api+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Error string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e.Error
}

// rpcResult is a Transmission RPC answer.
type rpcResult struct {
	Result    string         `json:"result"`
	Arguments map[string]any `json:"arguments"`
}

// rpcCall calls a Transmission RPC method on the daemon, with the session
// id handshake a remote app does.
func rpcCall(t *testing.T, d *daemonProc, method string, args any) rpcResult {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"method": method, "arguments": args})
	sid := ""
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, d.api+"/transmission/rpc", bytes.NewReader(b))
		req.Header.Set("X-Transmission-Session-Id", sid)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusConflict {
			sid = resp.Header.Get("X-Transmission-Session-Id")
			resp.Body.Close()
			continue
		}
		var r rpcResult
		err = json.NewDecoder(resp.Body).Decode(&r)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("RPC %s: HTTP %d, %v", method, resp.StatusCode, err)
		}
		return r
	}
	t.Fatalf("RPC %s: no session id", method)
	return rpcResult{}
}

func waitSubscriptionE2E(t *testing.T, d *daemonProc, version int64) channel.Subscription {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var s channel.Subscription
	for time.Now().Before(deadline) {
		if err := json.Unmarshal([]byte(d.mustCLI("subscriptions", "Family photos", "--json")), &s); err != nil {
			t.Fatal(err)
		}
		if s.Version == version && s.State == channel.StateSynced {
			return s
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("subscription did not reach version %d: %+v", version, s)
	return s
}

func writeRandom(t *testing.T, path string, n int) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// sameDir fails unless every file under base/sub is in got with the same
// bytes.
func sameDir(t *testing.T, base, sub, got string) {
	t.Helper()
	root := filepath.Join(base, sub)
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		want, _ := os.ReadFile(p)
		have, err := os.ReadFile(filepath.Join(got, rel))
		if err != nil || !bytes.Equal(have, want) {
			t.Errorf("%s: not the same on the subscriber (%v)", rel, err)
		}
		return nil
	})
}

// startPeerDHT starts n DHT nodes on loopback that know each other and,
// like every Hearth node (mutable's Configure), keep the peers announced
// to them, so two daemons find each other's torrents.
func startPeerDHT(t *testing.T, n int) []string {
	t.Helper()
	var servers []*dht.Server
	var addrs []dht.Addr
	for range n {
		conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		c := dht.NewDefaultServerConfig()
		c.Conn = conn
		c.NoSecurity = true
		c.StartingNodes = func() ([]dht.Addr, error) { return addrs, nil }
		c.Logger = alog.Default.FilterLevel(alog.Error)
		mutable.NewStore(100, mutable.ItemLifetime).Configure(c, rate.NewLimiter(rate.Inf, 0))
		s, err := dht.NewServer(c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		servers = append(servers, s)
		addrs = append(addrs, dht.NewAddr(conn.LocalAddr()))
	}
	for _, s := range servers {
		mutabletest.Join(s, servers)
	}
	return mutabletest.Addrs(servers)
}
