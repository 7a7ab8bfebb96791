package sharepage

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/channel"
	"github.com/hearth-media/hearth/engine/enginetest"
	eshare "github.com/hearth-media/hearth/engine/share"
	"github.com/hearth-media/hearth/engine/store"
)

// seedEnv is a real engine publishing a real channel (16 KiB pieces, so
// every file is followed by a padding file), real shares, and the real
// handler on an httptest server on 127.0.0.1.
type seedEnv struct {
	t      testing.TB
	node   *enginetest.Node
	ch     *channel.Manager
	shares *eshare.Manager
	srv    *httptest.Server
	files  map[string][]byte // channel files: path → content
	share  eshare.Share      // of the channel
}

func newSeedEnv(t testing.TB, extra map[string]int) *seedEnv {
	t.Helper()
	node := enginetest.StartNode(t, enginetest.NodeOptions{})
	st, err := store.Open(store.Options{Backend: store.BackendMemory})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := node.Engine
	m, err := channel.New(channel.Options{
		Engine: e, Store: st, Logger: enginetest.Logger(t),
		Dir:          filepath.Join(t.TempDir(), "channels"),
		DownloadDir:  func() string { return e.Settings().DownloadDir },
		PublishDelay: -1,
		PieceLength:  16 << 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &seedEnv{t: t, node: node, ch: m, shares: eshare.New(st, nil), files: map[string][]byte{}}
	src := t.TempDir()
	files := map[string]int{
		"a.jpg":                      40_000,
		"Album/b.mp4":                70_001,
		"Album/ünï code & x+y%.bin":  5_000,
		"Album/deep/c.txt":           1,
		"Album/deep/exact-piece.bin": 16 << 10,
	}
	maps.Copy(files, extra)
	for p, n := range files {
		b := make([]byte, n)
		rand.Read(b)
		s.files[p] = b
		fp := filepath.Join(src, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(fp), 0o755)
		if err := os.WriteFile(fp, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Create("Photos", nil); err != nil {
		t.Fatal(err)
	}
	var items []string
	for p := range files {
		if it := filepath.Join(src, strings.Split(p, "/")[0]); !slices.Contains(items, it) {
			items = append(items, it)
		}
	}
	if _, err := m.AddItems("Photos", items); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Publish(context.Background(), "Photos"); err != nil {
		t.Fatal(err)
	}
	s.srv = httptest.NewServer(NewHandler(Options{Shares: s.shares, Channels: m, Torrents: e}))
	t.Cleanup(s.srv.Close)
	s.share, err = s.shares.Create(eshare.CreateRequest{Channel: "Photos"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *seedEnv) get(method, path string, hdr ...string) (*http.Response, []byte) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.srv.URL+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req) // no redirects, no path cleaning
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// torrent fetches and parses the share's .torrent.
func (s *seedEnv) torrent(token string) (*metainfo.MetaInfo, []byte) {
	s.t.Helper()
	resp, b := s.get("GET", "/s/"+token+"/share.torrent")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-bittorrent" {
		s.t.Fatalf("GET share.torrent = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	mi, err := metainfo.Load(bytes.NewReader(b))
	if err != nil {
		s.t.Fatalf("parse share.torrent: %v", err)
	}
	return mi, b
}

// seedURL is the web seed URL of a channel file, escaped as anacrolix
// does (the channel torrent's name is "-").
func (s *seedEnv) seedURL(token string, comps ...string) string {
	var esc []string
	for _, c := range comps {
		esc = append(esc, strings.ReplaceAll(urlPathEscape(c), "+", "%2B"))
	}
	return "/s/" + token + "/seed/-/" + strings.Join(esc, "/")
}

func urlPathEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func TestSeedTorrentFile(t *testing.T) {
	s := newSeedEnv(t, nil)
	ch, err := s.ch.Channel("Photos")
	if err != nil {
		t.Fatal(err)
	}
	mi, raw := s.torrent(s.share.Token)
	if got := mi.HashInfoBytes().HexString(); got != ch.InfoHash {
		t.Errorf("infohash of share.torrent = %s, want the channel version's %s", got, ch.InfoHash)
	}
	et, err := s.node.Engine.Get(strconv.FormatInt(ch.TorrentID, 10))
	if err != nil || et.InfoHash != ch.InfoHash {
		t.Errorf("engine torrent = %s, %v; want %s", et.InfoHash, err, ch.InfoHash)
	}
	want := []string{s.srv.URL + "/s/" + s.share.Token + "/seed/"}
	if !slices.Equal(mi.UrlList, want) {
		t.Errorf("url-list = %q, want %q", mi.UrlList, want)
	}
	if !bytes.Contains(raw, []byte("8:url-list")) {
		t.Errorf("share.torrent has no url-list key")
	}
	// The page links to it.
	_, page := s.get("GET", "/s/"+s.share.Token)
	if !bytes.Contains(page, []byte("/s/"+s.share.Token+"/share.torrent")) {
		t.Errorf("page does not link share.torrent")
	}

	// A channel never published has no torrent: no link, 404.
	if _, err := s.ch.Create("Draft", nil); err != nil {
		t.Fatal(err)
	}
	draft, _ := s.shares.Create(eshare.CreateRequest{Channel: "Draft"})
	if _, page := s.get("GET", "/s/"+draft.Token); bytes.Contains(page, []byte("share.torrent")) {
		t.Errorf("page of an unpublished channel links share.torrent")
	}
	for _, p := range []string{"/share.torrent", "/seed/-/a.jpg"} {
		if resp, _ := s.get("GET", "/s/"+draft.Token+p); resp.StatusCode != 404 {
			t.Errorf("unpublished channel %s = %d, want 404", p, resp.StatusCode)
		}
	}

	// The download cap counts the .torrent, never web seed requests.
	c, err := s.shares.Create(eshare.CreateRequest{Channel: "Photos", MaxDownloads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if resp, _ := s.get("GET", s.seedURL(c.Token, "a.jpg"), "Range", "bytes=0-99"); resp.StatusCode != 206 {
			t.Fatalf("seed request %d of a capped share = %d, want 206", i, resp.StatusCode)
		}
	}
	if resp, _ := s.get("HEAD", "/s/"+c.Token+"/share.torrent"); resp.StatusCode != 200 {
		t.Errorf("HEAD share.torrent = %d, want 200 (not counted)", resp.StatusCode)
	}
	s.torrent(c.Token)
	if resp, _ := s.get("GET", "/s/"+c.Token+"/share.torrent"); resp.StatusCode != 410 {
		t.Errorf("second share.torrent with cap 1 = %d, want 410", resp.StatusCode)
	}
	if resp, _ := s.get("GET", s.seedURL(c.Token, "a.jpg")); resp.StatusCode != 410 {
		t.Errorf("seed of a used-up share = %d, want 410", resp.StatusCode)
	}
}

func TestSeedRequests(t *testing.T) {
	s := newSeedEnv(t, nil)
	tok := s.share.Token
	a := s.files["a.jpg"]
	b := s.files["Album/b.mp4"]
	// Every file, whole, byte-identical; a name that needs escaping.
	for p, want := range s.files {
		resp, got := s.get("GET", s.seedURL(tok, strings.Split(p, "/")...))
		if resp.StatusCode != 200 || !bytes.Equal(got, want) {
			t.Errorf("GET %s = %d, %d bytes; want 200 and %d identical bytes", p, resp.StatusCode, len(got), len(want))
		}
	}
	for _, tc := range []struct {
		path       string
		rng        string
		code       int
		want       []byte
		contentRng string
	}{
		{"a.jpg", "bytes=0-0", 206, a[:1], "bytes 0-0/40000"},
		{"a.jpg", "bytes=16383-16384", 206, a[16383:16385], "bytes 16383-16384/40000"},
		{"a.jpg", "bytes=39990-", 206, a[39990:], "bytes 39990-39999/40000"},
		{"a.jpg", "bytes=39990-99999", 206, a[39990:], "bytes 39990-39999/40000"},
		{"a.jpg", "bytes=-10", 206, a[39990:], "bytes 39990-39999/40000"},
		{"a.jpg", "bytes=-99999", 206, a, "bytes 0-39999/40000"},
		{"Album/b.mp4", "bytes=20000-69999", 206, b[20000:70000], "bytes 20000-69999/70001"},
		{"a.jpg", "bytes=40000-", 416, nil, "bytes */40000"},
		{"a.jpg", "bytes=40000-40001", 416, nil, "bytes */40000"},
		{"a.jpg", "bytes=-0", 416, nil, "bytes */40000"},
		{"a.jpg", "bytes=0-9,20-29", 200, a, ""}, // several ranges: the whole file
		{"a.jpg", "bytes=9-0", 200, a, ""},       // invalid: ignored
		{"a.jpg", "bytes=x-", 200, a, ""},        // invalid: ignored
		{"a.jpg", "items=0-9", 200, a, ""},       // other unit: ignored
		{"a.jpg", "bytes=+1-2", 200, a, ""},      // signs are not digits
		{"Album/deep/c.txt", "bytes=0-", 206, s.files["Album/deep/c.txt"], "bytes 0-0/1"},
	} {
		resp, got := s.get("GET", s.seedURL(tok, strings.Split(tc.path, "/")...), "Range", tc.rng)
		if resp.StatusCode != tc.code {
			t.Errorf("%s Range %q = %d, want %d", tc.path, tc.rng, resp.StatusCode, tc.code)
			continue
		}
		if got := resp.Header.Get("Content-Range"); got != tc.contentRng {
			t.Errorf("%s Range %q: Content-Range %q, want %q", tc.path, tc.rng, got, tc.contentRng)
		}
		if tc.code != 416 && !bytes.Equal(got, tc.want) {
			t.Errorf("%s Range %q: %d bytes, want %d identical", tc.path, tc.rng, len(got), len(tc.want))
		}
	}
	// HEAD: the headers of a GET, no body.
	resp, body := s.get("HEAD", s.seedURL(tok, "a.jpg"), "Range", "bytes=10-19")
	if resp.StatusCode != 206 || resp.Header.Get("Content-Length") != "10" || len(body) != 0 || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Errorf("HEAD = %d, Content-Length %q, %d body bytes", resp.StatusCode, resp.Header.Get("Content-Length"), len(body))
	}

	// Padding files: zeros of their length, as named in the torrent.
	mi, _ := s.torrent(tok)
	info, err := mi.UnmarshalInfo()
	if err != nil {
		t.Fatal(err)
	}
	pads := 0
	for _, f := range info.UpvertedFiles() {
		if !strings.Contains(f.Attr, "p") {
			continue
		}
		pads++
		resp, got := s.get("GET", s.seedURL(tok, f.Path...))
		if resp.StatusCode != 200 || int64(len(got)) != f.Length || !bytes.Equal(got, make([]byte, f.Length)) {
			t.Errorf("pad %v = %d, %d bytes; want %d zeros", f.Path, resp.StatusCode, len(got), f.Length)
		}
		resp, got = s.get("GET", s.seedURL(tok, f.Path...), "Range", "bytes=1-2")
		if resp.StatusCode != 206 || !bytes.Equal(got, []byte{0, 0}) {
			t.Errorf("pad %v range = %d %q", f.Path, resp.StatusCode, got)
		}
	}
	if pads < 3 {
		t.Errorf("channel torrent has %d padding files, want several", pads)
	}

	// Anything that is not exactly a file of the torrent: 404, and the
	// response never holds a file's bytes.
	outside := filepath.Join(t.TempDir(), "secret.txt")
	os.WriteFile(outside, []byte("top secret"), 0o644)
	for _, p := range []string{
		"/seed/", "/seed", "/seed/-", "/seed/-/", "/seed/a.jpg", "/seed/Photos/a.jpg", "/seed/-/A.JPG",
		"/seed/-/Album", "/seed/-/Album/", "/seed/-//a.jpg", "/seed/-/./a.jpg", "/seed/-/Album/../a.jpg",
		"/seed/-/..", "/seed/-/../a.jpg", "/seed/-/%2e%2e/a.jpg", "/seed/-/%2E%2E%2Fa.jpg", "/seed/-/Album%2fb.mp4",
		"/seed/-/Album%2Fb.mp4", "/seed/-/Album%5cb.mp4", "/seed/-/Album\\b.mp4", "/seed/-/a.jpg%00",
		"/seed/-/a.jpg/", "/seed/-/a.jpg/x", "/seed" + outside, "/seed//etc/passwd",
		"/seed/-" + outside, "/seed/-/.pad", "/seed/-/.pad/999999999", "/seed/-/.hearth-tmp/x",
		"/seed/-/Album/deep/../../a.jpg",
	} {
		resp, body := s.get("GET", "/s/"+tok+p)
		if resp.StatusCode != 404 || bytes.Contains(body, a[:64]) || bytes.Contains(body, []byte("top secret")) {
			t.Errorf("GET …%s = %d, want 404", p, resp.StatusCode)
		}
	}
	// "%2D" is "-" escaped: that is the same name, so it is served.
	if resp, _ := s.get("GET", "/s/"+tok+"/seed/%2D/a%2Ejpg", "Range", "bytes=0-0"); resp.StatusCode != 206 {
		t.Errorf("escaped name = %d, want 206", resp.StatusCode)
	}

	// Revoked: 410; an unknown token: 404.
	if _, err := s.shares.Revoke(s.share.ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{s.seedURL(tok, "a.jpg"), "/s/" + tok + "/share.torrent"} {
		if resp, _ := s.get("GET", p); resp.StatusCode != 410 {
			t.Errorf("GET revoked %s = %d, want 410", p, resp.StatusCode)
		}
	}
	if resp, _ := s.get("GET", s.seedURL(strings.Repeat("Q", 24), "a.jpg")); resp.StatusCode != 404 {
		t.Errorf("unknown token = %d, want 404", resp.StatusCode)
	}
}

// TestSeedTorrentShare serves a torrent share (not a channel): only the
// files the share names, only verified pieces, a single-file torrent at
// <base><name>.
func TestSeedTorrentShare(t *testing.T) {
	s := newSeedEnv(t, nil)
	e := s.node.Engine
	dir := t.TempDir()
	tt := enginetest.MakeTorrent(t, dir, "Holiday", 16<<10, []enginetest.File{
		{Path: "in.jpg", Size: 32 << 10}, {Path: "out.jpg", Size: 20_000}, {Path: "missing.mp4", Size: 50_000},
	})
	os.Remove(filepath.Join(dir, "Holiday", "missing.mp4")) // the device never had this one
	added, _, err := e.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(added.ID, 10)
	enginetest.WaitFor(t, e, id, time.Minute, "the check", func(x engine.Torrent) bool {
		return x.HasMetadata && x.Files[0].Done == x.Files[0].Size && x.State != engine.StateChecking
	})
	sh, err := s.shares.Create(eshare.CreateRequest{TorrentID: added.ID, Files: []string{"in.jpg", "missing.mp4"}})
	if err != nil {
		t.Fatal(err)
	}
	in, _ := os.ReadFile(filepath.Join(dir, "Holiday", "in.jpg"))
	base := "/s/" + sh.Token + "/seed/Holiday/"
	if resp, got := s.get("GET", base+"in.jpg"); resp.StatusCode != 200 || !bytes.Equal(got, in) {
		t.Errorf("shared file = %d, %d bytes", resp.StatusCode, len(got))
	}
	if resp, _ := s.get("GET", base+"out.jpg"); resp.StatusCode != 404 {
		t.Errorf("file outside the share = %d, want 404", resp.StatusCode)
	}
	resp, _ := s.get("GET", base+"missing.mp4", "Range", "bytes=0-99")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("unverified data = %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	// Single file: <base><name>.
	sdir := t.TempDir()
	data := make([]byte, 33_333)
	rand.Read(data)
	os.WriteFile(filepath.Join(sdir, "film.mp4"), data, 0o644)
	info := metainfo.Info{PieceLength: 16 << 10}
	if err := info.BuildFromFilePath(filepath.Join(sdir, "film.mp4")); err != nil {
		t.Fatal(err)
	}
	ib, _ := bencode.Marshal(info)
	mib, _ := bencode.Marshal(metainfo.MetaInfo{InfoBytes: ib})
	single, _, err := e.Add(context.Background(), engine.AddRequest{Metainfo: mib, Dir: sdir})
	if err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, e, strconv.FormatInt(single.ID, 10), time.Minute, "the check", enginetest.Complete)
	ss, _ := s.shares.Create(eshare.CreateRequest{TorrentID: single.ID})
	if resp, got := s.get("GET", "/s/"+ss.Token+"/seed/film.mp4", "Range", "bytes=100-"); resp.StatusCode != 206 || !bytes.Equal(got, data[100:]) {
		t.Errorf("single file = %d, %d bytes", resp.StatusCode, len(got))
	}
	for _, p := range []string{"/seed/film.mp4/film.mp4", "/seed/film.mp4/", "/seed/x/film.mp4"} {
		if resp, _ := s.get("GET", "/s/"+ss.Token+p); resp.StatusCode != 404 {
			t.Errorf("single file %s = %d, want 404", p, resp.StatusCode)
		}
	}
	mi, _ := s.torrent(ss.Token)
	if got := mi.HashInfoBytes().HexString(); got != single.InfoHash {
		t.Errorf("single-file share.torrent infohash = %s, want %s", got, single.InfoHash)
	}
}

// TestSeedAria2 gives aria2c only the share's .torrent (url-list, no
// peers: DHT, PEX, LPD off, no tracker) and checks that it downloads
// every file of the channel, padding files included, byte for byte.
func TestSeedAria2(t *testing.T) {
	aria, err := exec.LookPath("aria2c")
	if err != nil {
		t.Skip("aria2c not installed (scripts/test-deps.sh installs it)")
	}
	s := newSeedEnv(t, nil)
	_, raw := s.torrent(s.share.Token)
	dir := t.TempDir()
	tf := filepath.Join(dir, "share.torrent")
	if err := os.WriteFile(tf, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	// A free port for aria2's BitTorrent listener (it takes no 0).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, aria, "--enable-dht=false", "--enable-dht6=false", "--enable-peer-exchange=false",
		"--bt-enable-lpd=false", "--bt-tracker-connect-timeout=1", "--seed-time=0", "--follow-torrent=mem",
		"--listen-port="+strconv.Itoa(port), "--no-conf", "--check-certificate=false", "--console-log-level=warn", "--summary-interval=0",
		"--dir", out, tf)
	cmd.Env = append(os.Environ(), "http_proxy=", "https_proxy=", "all_proxy=", "HTTP_PROXY=", "HTTPS_PROXY=", "ALL_PROXY=")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("aria2c: %v\n%s", err, b)
	}
	for p, want := range s.files {
		got, err := os.ReadFile(filepath.Join(out, "-", filepath.FromSlash(p)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: aria2c got %d bytes (%v), want %d identical", p, len(got), err, len(want))
		}
	}
}

// TestSeedHearthSubscriber: a second engine with no peers at all (no DHT,
// no tracker, no peer address) adds the share's .torrent and completes
// from the web seed alone.
func TestSeedHearthSubscriber(t *testing.T) {
	s := newSeedEnv(t, nil)
	_, raw := s.torrent(s.share.Token)
	b := enginetest.StartNode(t, enginetest.NodeOptions{})
	dl := t.TempDir()
	added, _, err := b.Engine.Add(context.Background(), engine.AddRequest{Metainfo: raw, Dir: dl})
	if err != nil {
		t.Fatal(err)
	}
	mi, _ := metainfo.Load(bytes.NewReader(raw))
	if added.InfoHash != mi.HashInfoBytes().HexString() {
		t.Errorf("engine B infohash = %s, want %s", added.InfoHash, mi.HashInfoBytes().HexString())
	}
	got := enginetest.WaitFor(t, b.Engine, strconv.FormatInt(added.ID, 10), 2*time.Minute, "download from the web seed", enginetest.Complete)
	if got.Peers != 0 && got.Seeds != 0 {
		t.Logf("peers %d, seeds %d", got.Peers, got.Seeds)
	}
	for p, want := range s.files {
		data, err := os.ReadFile(filepath.Join(dl, filepath.FromSlash(p)))
		if err != nil || !bytes.Equal(data, want) {
			t.Errorf("%s: engine B has %d bytes (%v), want %d identical", p, len(data), err, len(want))
		}
	}
	// The web seed is kept with the torrent: its .torrent lists it.
	mb, err := b.Engine.MetaInfo(added.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	mi2, err := metainfo.Load(bytes.NewReader(mb))
	if err != nil || !slices.Equal(mi2.UrlList, mi.UrlList) {
		t.Errorf("engine B's .torrent url-list = %q (%v), want %q", mi2.UrlList, err, mi.UrlList)
	}
}

// BenchmarkSeedRange: 256 KiB web seed ranges of a 4 MiB file of a
// channel over loopback HTTP, as a client fetches pieces.
func BenchmarkSeedRange(b *testing.B) {
	s := newSeedEnv(b, map[string]int{"big.bin": 4 << 20})
	const size, span = 4 << 20, 256 << 10
	url := s.srv.URL + s.seedURL(s.share.Token, "big.bin")
	client := &http.Client{}
	b.SetBytes(span)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		off := (i * span) % size
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+span-1))
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 206 || n != span {
			b.Fatalf("range %d = %d, %d bytes", off, resp.StatusCode, n)
		}
	}
}

func TestSeedLinks(t *testing.T) {
	h := NewHandler(Options{Shares: eshare.New(nil, nil)}).(*handler)
	for _, tc := range []struct {
		host, local string
		want        []string
	}{
		{"192.168.1.20:8080", "192.168.1.20:8080", []string{"http://192.168.1.20:8080/s/TOK"}},
		{"nas.local:8080", "192.168.1.20:8080", []string{"http://nas.local:8080/s/TOK", "http://192.168.1.20:8080/s/TOK"}},
		{"nas.local:8080", "127.0.0.1:8080", []string{"http://nas.local:8080/s/TOK"}},
		{"[::1]:8080", "[::1]:8080", []string{"http://[::1]:8080/s/TOK"}},
		{"nas.local", "[::ffff:10.0.0.2]:80", []string{"http://nas.local/s/TOK", "http://10.0.0.2:80/s/TOK"}},
		{"evil.example/x?", "10.0.0.2:80", []string{"http://10.0.0.2:80/s/TOK"}},
		{"a@b:80", "127.0.0.1:80", nil},
		{"host:99999", "127.0.0.1:80", nil},
	} {
		r := httptest.NewRequest("GET", "/s/TOK/share.torrent", nil)
		r.Host = tc.host
		la, _ := net.ResolveTCPAddr("tcp", tc.local)
		r = r.WithContext(context.WithValue(r.Context(), http.LocalAddrContextKey, net.Addr(la)))
		if got := h.links(r, "TOK"); !slices.Equal(got, tc.want) {
			t.Errorf("links(Host %q, local %s) = %q, want %q", tc.host, tc.local, got, tc.want)
		}
	}
}

// FuzzSeedParse: whatever a client sends, a range stays inside the file
// and a path never yields an element that could leave a folder.
func FuzzSeedParse(f *testing.F) {
	for _, s := range []string{"bytes=0-9", "bytes=-5", "bytes=7-", "bytes=9-0", "bytes=0-1,3-4", "-/../%2e%2e/a", "a%2Fb", "%", ""} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, s string, size int64) {
		if size < 0 {
			size = -size
		}
		if size < 0 {
			return
		}
		start, n, code := parseRange(s, size)
		switch code {
		case http.StatusOK:
			if start != 0 || n != size {
				t.Errorf("parseRange(%q, %d) = 200 with [%d,+%d)", s, size, start, n)
			}
		case http.StatusPartialContent:
			if start < 0 || n <= 0 || start+n > size {
				t.Errorf("parseRange(%q, %d) = 206 with [%d,+%d)", s, size, start, n)
			}
		case http.StatusRequestedRangeNotSatisfiable:
		default:
			t.Errorf("parseRange(%q, %d) = code %d", s, size, code)
		}
		names, ok := seedPath(s)
		for _, e := range names {
			if !ok || e == "" || e == "." || e == ".." || strings.ContainsAny(e, "/\\\x00") {
				t.Errorf("seedPath(%q) = %q, %v", s, names, ok)
			}
		}
	})
}
