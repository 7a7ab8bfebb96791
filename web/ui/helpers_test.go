package ui_test

// Helpers shared by the browser tests of the phone app (phone_test.go) and
// the TV app: a real daemon (engine, library, channels, shares, access
// control) behind web.NewHandler on 127.0.0.1, seeders on loopback, and
// checks every screen must pass.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/channel"
	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/engine/library"
	"github.com/hearth-media/hearth/engine/share"
	"github.com/hearth-media/hearth/engine/store"
	"github.com/hearth-media/hearth/engine/thumb"
	"github.com/hearth-media/hearth/web"
	"github.com/hearth-media/hearth/web/access"
	"github.com/hearth-media/hearth/web/internal/browsertest"
)

func TestMain(m *testing.M) {
	enginetest.ClassicFileIO()
	os.Exit(m.Run())
}

// hearth is a daemon for browser tests: the parts serve.go wires, real,
// with memory stores, the DHT off and nothing but loopback.
type hearth struct {
	URL      string
	Node     *enginetest.Node
	Engine   *engine.Engine
	Access   *access.Controller
	Library  *library.Library
	Channels *channel.Manager
	Shares   *share.Manager
	Events   *web.Events
}

// hearthOptions tune startHearth.
type hearthOptions struct {
	// Password, when set, is the owner's password (user "admin") and
	// loopback is not trusted: the browser must log in.
	Password string
	// Tweak changes the handler options last.
	Tweak func(*web.Options)
	// Wrap, when set, wraps the handler (to watch requests).
	Wrap func(http.Handler) http.Handler
	// ChannelLAN, when set, is where the channel manager looks channels
	// up (the DHT is off): a stand-in for other devices on the LAN.
	ChannelLAN channel.LAN
}

// testPassword is the password tests log in with.
const testPassword = "correct horse battery"

func startHearth(t *testing.T, o hearthOptions) *hearth {
	t.Helper()
	log := enginetest.Logger(t)
	n := enginetest.StartNode(t, enginetest.NodeOptions{})
	st, err := store.Open(store.Options{Backend: store.BackendMemory})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &hearth{Node: n, Engine: n.Engine}
	// Wired as cmd/hearth/serve.go wires them: the events hub hears of
	// pairing, channel and library changes.
	h.Events = web.NewEvents(web.EventsOptions{Source: n.Engine, Logger: log,
		Pairing: func() []access.PairRequest { return h.Access.PendingPairings() }})
	h.Access, err = access.New(access.Options{Store: st, Pairing: true, Logger: log,
		KDF:     access.KDFParams{Time: 1, MemKiB: 64, Threads: 1},
		OnEvent: h.Events.AccessEvent})
	if err != nil {
		t.Fatal(err)
	}
	if o.Password != "" {
		if err := h.Access.SetPassword(context.Background(), "admin", o.Password); err != nil {
			t.Fatal(err)
		}
	}
	h.Library, err = library.New(library.Options{Store: st, Source: n.Engine, Logger: log,
		OnChange: func() { h.Events.Notify(web.EventLibrary) }})
	if err != nil {
		t.Fatal(err)
	}
	h.Channels, err = channel.New(channel.Options{
		Engine: n.Engine, Store: st, Logger: log, LAN: o.ChannelLAN,
		Dir:          filepath.Join(t.TempDir(), "channels"),
		DownloadDir:  func() string { return n.Engine.Settings().DownloadDir },
		PublishDelay: -1,
		OnChange:     func() { h.Events.Notify(web.EventChannels) },
	})
	if err != nil {
		t.Fatal(err)
	}
	h.Shares = share.New(st, nil)
	thumbs, err := thumb.New(thumb.Options{Dir: filepath.Join(t.TempDir(), "thumbs"), Logger: log, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { h.Library.Serve(ctx); done <- struct{}{} }()
	go func() { h.Channels.Serve(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })

	opts := web.Options{
		Engine:        n.Engine,
		Logger:        log,
		Version:       web.VersionInfo{Version: "v0.0.0-test", Commit: "abc1234", GoVersion: "go", OS: "linux", Arch: "amd64"},
		Access:        h.Access,
		TrustLoopback: o.Password == "",
		Library:       h.Library,
		Channels:      h.Channels,
		Shares:        h.Shares,
		Events:        h.Events,
		Thumbs:        thumbs,
	}
	if o.Tweak != nil {
		o.Tweak(&opts)
	}
	var handler http.Handler = web.NewHandler(opts)
	if o.Wrap != nil {
		handler = o.Wrap(handler)
	}

	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	h.URL = srv.URL
	return h
}

// content is a torrent's files on disk, with its .torrent.
type content struct {
	Dir      string // folder holding Name
	Name     string
	Metainfo []byte
	InfoHash string
}

// makeContent writes files (relative path → bytes) under a temp dir and
// builds a v1 torrent of them named name with the given piece size.
func makeContent(t *testing.T, name string, pieceSize int64, files map[string][]byte) *content {
	t.Helper()
	c := &content{Dir: t.TempDir(), Name: name}
	root := filepath.Join(c.Dir, name)
	for rel, data := range files {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c.Metainfo, c.InfoHash = enginetest.BuildTorrent(t, c.Dir, name, pieceSize)
	return c
}

// seed starts a second engine seeding c, its upload limited to uploadKBps
// (0 = unlimited), and returns a magnet link that names it as a peer.
func seed(t *testing.T, c *content, uploadKBps int) string {
	t.Helper()
	return seedPart(t, c, uploadKBps, 0)
}

// seedPart is seed with only the data before byte offset keep (0 = all):
// the seeder's copy of c has zeros after it, so it verifies and offers only
// the pieces before, and a leecher can never complete (its progress stays
// under 100 % however fast it goes). c must be a one-file torrent when
// keep > 0.
func seedPart(t *testing.T, c *content, uploadKBps int, keep int64) string {
	t.Helper()
	dir := c.Dir
	if keep > 0 {
		dir = t.TempDir()
		src := filepath.Join(c.Dir, c.Name)
		files, err := os.ReadDir(src)
		if err != nil || len(files) != 1 {
			t.Fatalf("seedPart wants a one-file torrent folder: %v, %d files", err, len(files))
		}
		data, err := os.ReadFile(filepath.Join(src, files[0].Name()))
		if err != nil {
			t.Fatal(err)
		}
		clear(data[min(keep, int64(len(data))):])
		if err := os.MkdirAll(filepath.Join(dir, c.Name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, c.Name, files[0].Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := enginetest.StartNode(t, enginetest.NodeOptions{})
	got, _, err := s.Engine.Add(context.Background(), engine.AddRequest{Metainfo: c.Metainfo, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, s.Engine, fmt.Sprint(got.ID), 30*time.Second, "seeder verified", func(tt engine.Torrent) bool {
		if keep > 0 {
			return tt.State != engine.StateChecking && tt.PiecesDone > 0
		}
		return enginetest.Complete(tt)
	})
	if uploadKBps > 0 {
		if err := s.Engine.SetOptions(got.ID, engine.OptionsPatch{UploadKBps: &uploadKBps}); err != nil {
			t.Fatal(err)
		}
	}
	return "magnet:?xt=urn:btih:" + c.InfoHash + "&dn=" + strings.ReplaceAll(c.Name, " ", "+") + "&x.pe=" + s.PeerAddr()
}

// checkPage fails the test if the page has controls without an accessible
// name or errors (exceptions, console errors, CSP violations, failed loads).
func checkPage(t *testing.T, p *browsertest.Page, screen string) {
	t.Helper()
	for _, c := range p.UnlabelledControls(t) {
		t.Errorf("%s: %s control without an accessible name: %s", screen, c.Role, c.HTML)
	}
	for _, e := range p.Errors() {
		t.Errorf("%s: page error: %s", screen, e)
	}
	p.ClearErrors()
}

// apiJSON sends a JSON request from the test (a trusted loopback caller)
// and decodes the answer into out; it returns the status.
func apiJSON(t *testing.T, method, url string, in, out any) int {
	t.Helper()
	return sendJSON(t, method, url, in, out, false)
}

// ownerJSON is apiJSON with the owner's password.
func ownerJSON(t *testing.T, method, url string, out any) int {
	t.Helper()
	return sendJSON(t, method, url, nil, out, true)
}

func sendJSON(t *testing.T, method, url string, in, out any, owner bool) int {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if owner {
		req.SetBasicAuth("admin", testPassword)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, url, b, err)
		}
	}
	return resp.StatusCode
}
