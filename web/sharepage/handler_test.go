package sharepage

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/channel"
	eshare "github.com/hearth-media/hearth/engine/share"
	"github.com/hearth-media/hearth/engine/store"
	"github.com/hearth-media/hearth/engine/thumb"
)

// folderChannels serves channels from real folders: name → dir. The
// page is under test, not the channel manager (which lists a folder the
// same way: regular files, slash paths).
type folderChannels map[string]string

func (fc folderChannels) Channel(name string) (channel.Channel, error) {
	dir, ok := fc[name]
	if !ok {
		return channel.Channel{}, channel.ErrNotFound
	}
	return channel.Channel{Name: name, Dir: dir, Link: "magnet:?xs=urn:btpk:" + strings.Repeat("ab", 32) + "&dn=" + name}, nil
}

func (fc folderChannels) Items(name string) ([]channel.ItemInfo, error) {
	dir := fc[name]
	var out []channel.ItemInfo
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, channel.ItemInfo{Path: filepath.ToSlash(rel), Size: fi.Size()})
		return nil
	})
	return out, err
}

type torrents map[string]engine.Torrent

func (ts torrents) Get(ref string) (engine.Torrent, error) {
	t, ok := ts[ref]
	if !ok {
		return t, engine.ErrNotFound
	}
	return t, nil
}

type env struct {
	t      *testing.T
	dir    string
	shares *eshare.Manager
	srv    *httptest.Server
	ch     folderChannels
	tor    torrents
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := store.Open(store.Options{Backend: store.BackendMemory})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dir := t.TempDir()
	th, err := thumb.New(thumb.Options{Dir: filepath.Join(dir, "cache")})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, shares: eshare.New(st, nil), ch: folderChannels{}, tor: torrents{}}
	h := NewHandler(Options{Shares: e.shares, Channels: e.ch, Torrents: e.tor, Thumbs: th, GuessLimit: 5})
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

// channel makes a channel folder holding files (name → content).
func (e *env) channel(name string, files map[string][]byte) eshare.Share {
	e.t.Helper()
	d := filepath.Join(e.dir, "channels", name)
	for p, b := range files {
		fp := filepath.Join(d, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(fp), 0o755)
		if err := os.WriteFile(fp, b, 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	os.MkdirAll(d, 0o755)
	e.ch[name] = d
	s, err := e.shares.Create(eshare.CreateRequest{Channel: name, Note: "From <b>Grandma</b>"})
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) get(path string, hdr ...string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest("GET", e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req) // no redirects, no path cleaning
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func jpegBytes(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	// A tiny valid JPEG from the thumbnail package's own encoder path.
	b.Write(mustJPEG(t, 64, 48))
	return b.Bytes()
}

func TestPageEscapesAndHeaders(t *testing.T) {
	e := newEnv(t)
	s := e.channel("photos", map[string][]byte{
		"<script>alert(1)</script>.jpg": jpegBytes(t),
		"clip.mp4":                      []byte("not really a video"),
		"doc.html":                      []byte("<script>alert(2)</script>"),
		"pic.webp":                      webpBytes(t),
		"pic.avif":                      []byte("not decoded"),
	})
	resp, body := e.get("/s/" + s.Token)
	if resp.StatusCode != 200 {
		t.Fatalf("GET page = %d", resp.StatusCode)
	}
	for _, bad := range []string{"<script>alert(1)", "<b>Grandma"} {
		if bytes.Contains(body, []byte(bad)) {
			t.Errorf("page contains %q unescaped", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;.jpg", "&lt;b&gt;Grandma", "<video", "all.zip", "invite.hearth", "urn:btpk:"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("page lacks %q", want)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "style-src 'nonce-") || strings.Contains(csp, "unsafe") {
		t.Errorf("page CSP = %q", csp)
	}
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("nosniff = %q", got)
	}
	if got := resp.Header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy = %q", got)
	}
	// The HTML file is never served as a page of this origin.
	// No thumbnail is asked for an AVIF (not decoded): its tile shows the name.
	if !bytes.Contains(body, []byte("<span>pic.avif</span>")) {
		t.Errorf("page lacks the AVIF file's name tile")
	}
	for i := range 5 {
		resp, _ := e.get(fmt.Sprintf("/s/%s/f/%d", s.Token, i))
		ct, cd := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition")
		if strings.Contains(ct, "html") || !strings.HasPrefix(resp.Header.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("file %d: Content-Type %q, CSP %q", i, ct, resp.Header.Get("Content-Security-Policy"))
		}
		if ct == "application/octet-stream" && !strings.HasPrefix(cd, "attachment") {
			t.Errorf("file %d (%s): Content-Disposition %q, want attachment", i, ct, cd)
		}
	}
	// Thumbnail of the photo.
	var img int
	c, _ := e.ch.Items("photos")
	for i, it := range c {
		if strings.HasSuffix(it.Path, ".jpg") {
			img = i
		}
	}
	resp, b := e.get(fmt.Sprintf("/s/%s/t/%d", s.Token, img))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" || len(b) < 100 {
		t.Errorf("thumbnail = %d %q %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(b))
	}
	// WebP photos get thumbnails too; AVIF ones none.
	for i, it := range c {
		ext := path.Ext(it.Path)
		if ext != ".webp" && ext != ".avif" {
			continue
		}
		asked := bytes.Contains(body, fmt.Appendf(nil, `/t/%d"`, i))
		resp, _ := e.get(fmt.Sprintf("/s/%s/t/%d", s.Token, i))
		if ext == ".webp" && (!asked || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg") {
			t.Errorf("WebP thumbnail: on the page %v, GET = %d %q", asked, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if ext == ".avif" && (asked || resp.StatusCode != 404) {
			t.Errorf("AVIF thumbnail: on the page %v, GET = %d, want none and 404", asked, resp.StatusCode)
		}
	}
}

// webpBytes is a 400x200 lossy WebP made by cwebp (engine/thumb/testdata).
func webpBytes(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "engine", "thumb", "testdata", "lossy-400x200.webp"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNotFoundGoneAndGuesses(t *testing.T) {
	e := newEnv(t)
	outside := filepath.Join(e.dir, "secret.txt")
	os.WriteFile(outside, []byte("secret"), 0o644)
	s := e.channel("c", map[string][]byte{"a.jpg": []byte("x")})
	os.Symlink(outside, filepath.Join(e.ch["c"], "link.jpg"))
	for _, p := range []string{
		"/f/../../secret.txt", "/f/%2e%2e%2fsecret.txt", "/f/..%2f..%2fsecret.txt", "/f/0%2f..",
		"/f/" + outside, "/f//etc/passwd", "/f/-1", "/f/01", "/f/99", "/f/", "/t/0/..", "/x",
		"/f/1", // the symlink leading out of the folder
		"/../../api/v1/torrents",
	} {
		resp, body := e.get("/s/" + s.Token + p)
		if resp.StatusCode != 404 || bytes.Contains(body, []byte("secret")) {
			t.Errorf("GET …%s = %d, want 404", p, resp.StatusCode)
		}
	}
	// Revoked: 410 with a page.
	r, _ := e.shares.Create(eshare.CreateRequest{Channel: "c"})
	e.shares.Revoke(r.ID)
	for _, p := range []string{"", "/f/0", "/all.zip"} {
		if resp, body := e.get("/s/" + r.Token + p); resp.StatusCode != 410 || !bytes.Contains(body, []byte("ended")) {
			t.Errorf("GET revoked%s = %d, want 410", p, resp.StatusCode)
		}
	}
	// Guessed tokens: 404, then 429 past the limit (5 in this test),
	// even for a good token from that address.
	for i := range 5 {
		tok := strings.Repeat("A", 23) + string(rune('a'+i))
		if resp, _ := e.get("/s/" + tok); resp.StatusCode != 404 {
			t.Errorf("guess %d = %d, want 404", i, resp.StatusCode)
		}
	}
	if resp, _ := e.get("/s/" + s.Token); resp.StatusCode != 429 {
		t.Errorf("after 5 guesses = %d, want 429", resp.StatusCode)
	}
}

func TestRangeAndDownload(t *testing.T) {
	e := newEnv(t)
	data := make([]byte, 100_000)
	rand.Read(data)
	s := e.channel("v", map[string][]byte{"clip.mp4": data})
	for _, tc := range []struct {
		rng        string
		code       int
		start, end int
	}{
		{"bytes=0-9", 206, 0, 10},
		{"bytes=5000-5999", 206, 5000, 6000},
		{"bytes=-100", 206, len(data) - 100, len(data)},
		{"bytes=99990-", 206, 99990, len(data)},
		{"bytes=200000-", 416, 0, 0},
		{"", 200, 0, len(data)},
	} {
		resp, b := e.get("/s/"+s.Token+"/f/0", "Range", tc.rng)
		if resp.StatusCode != tc.code {
			t.Errorf("Range %q = %d, want %d", tc.rng, resp.StatusCode, tc.code)
			continue
		}
		if tc.code < 300 && !bytes.Equal(b, data[tc.start:tc.end]) {
			t.Errorf("Range %q: wrong bytes (%d)", tc.rng, len(b))
		}
		if tc.code < 300 && resp.Header.Get("Content-Type") != "video/mp4" {
			t.Errorf("Content-Type = %q", resp.Header.Get("Content-Type"))
		}
	}
	// Download with a cap of 2: the third is gone.
	c, _ := e.shares.Create(eshare.CreateRequest{Channel: "v", MaxDownloads: 2})
	for i, want := range []int{200, 200, 410} {
		resp, _ := e.get("/s/" + c.Token + "/f/0?dl=1")
		if resp.StatusCode != want {
			t.Errorf("download %d = %d, want %d", i, resp.StatusCode, want)
		}
		if want == 200 && resp.Header.Get("Content-Disposition") != `attachment; filename="clip.mp4"; filename*=UTF-8''clip.mp4` {
			t.Errorf("Content-Disposition = %q", resp.Header.Get("Content-Disposition"))
		}
	}
}

func TestContentDisposition(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a b.jpg", `attachment; filename="a b.jpg"; filename*=UTF-8''a%20b.jpg`},
		{`x"y\z;%.jpg`, `attachment; filename="x_y_z__.jpg"; filename*=UTF-8''x%22y%5Cz%3B%25.jpg`},
		{"été\r\n.jpg", `attachment; filename="_t___.jpg"; filename*=UTF-8''%C3%A9t%C3%A9%0D%0A.jpg`},
	} {
		if got := ContentDisposition("attachment", tc.in); got != tc.want {
			t.Errorf("ContentDisposition(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestTorrentShareArriving(t *testing.T) {
	e := newEnv(t)
	d := filepath.Join(e.dir, "dl")
	os.MkdirAll(filepath.Join(d, "Album"), 0o755)
	os.WriteFile(filepath.Join(d, "Album", "a.jpg"), []byte("done"), 0o644)
	os.WriteFile(filepath.Join(d, "Album", "b.mp4"), []byte("part"), 0o644)
	os.WriteFile(filepath.Join(d, "Album", "c.txt"), []byte("not shared"), 0o644)
	e.tor["7"] = engine.Torrent{ID: 7, Name: "Album", Dir: d, Magnet: "magnet:?xt=urn:btih:" + strings.Repeat("0", 40), Files: []engine.File{
		{Path: "a.jpg", Size: 4, Done: 4}, {Path: "b.mp4", Size: 8, Done: 4}, {Path: "c.txt", Size: 10, Done: 10},
	}}
	s, _ := e.shares.Create(eshare.CreateRequest{TorrentID: 7, Files: []string{"a.jpg", "b.mp4"}})
	_, body := e.get("/s/" + s.Token)
	if !bytes.Contains(body, []byte("Still arriving")) || bytes.Contains(body, []byte("c.txt")) {
		t.Errorf("page: arriving section or subset wrong:\n%s", body)
	}
	if resp, _ := e.get("/s/" + s.Token + "/f/1"); resp.StatusCode != 404 {
		t.Errorf("incomplete file = %d, want 404", resp.StatusCode)
	}
	if resp, _ := e.get("/s/" + s.Token + "/invite.hearth"); resp.StatusCode != 404 {
		t.Errorf("invite of a torrent share = %d, want 404", resp.StatusCode)
	}
	resp, b := e.get("/s/" + s.Token + "/all.zip")
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil || resp.StatusCode != 200 || len(zr.File) != 1 || zr.File[0].Name != "Album/a.jpg" {
		t.Errorf("zip of torrent share: %d, %v, %d files", resp.StatusCode, err, len(zr.File))
	}
}

func TestZip(t *testing.T) {
	e := newEnv(t)
	files := map[string][]byte{}
	for i := range 5 {
		b := make([]byte, 1000*i+7)
		rand.Read(b)
		files[fmt.Sprintf("dir/f%d.jpg", i)] = b
	}
	files["été/ünï.mp4"] = []byte("x")
	s := e.channel("z", files)
	resp, b := e.get("/s/" + s.Token + "/all.zip")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("zip = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != len(files) {
		t.Fatalf("zip holds %d files, want %d", len(zr.File), len(files))
	}
	for _, f := range zr.File {
		if f.Method != zip.Store {
			t.Errorf("%s: method %d, want Store", f.Name, f.Method)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc) // checks the CRC too
		rc.Close()
		if err != nil || !bytes.Equal(got, files[f.Name]) {
			t.Errorf("%s: %d bytes, %v; want %d identical bytes", f.Name, len(got), err, len(files[f.Name]))
		}
	}
}

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// TestZipMemoryFlat zips 200 MiB (sparse files) and checks that what the
// handler allocates does not grow with the data: 8 MiB is far below the
// data and far above the 256 KiB copy buffer and zip's own headers.
func TestZipMemoryFlat(t *testing.T) {
	e := newEnv(t)
	s := e.channel("big", nil)
	for i := range 2 {
		f, _ := os.Create(filepath.Join(e.ch["big"], fmt.Sprintf("v%d.mp4", i)))
		f.Truncate(100 << 20)
		f.Close()
	}
	h := NewHandler(Options{Shares: e.shares, Channels: e.ch})
	req := httptest.NewRequest("GET", "/s/"+s.Token+"/all.zip", nil)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	h.ServeHTTP(&discard{h: http.Header{}}, req)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("zip of 200 MiB: %d KiB allocated, heap in use %d KiB, %v", alloc>>10, after.HeapInuse>>10, time.Since(start))
	if alloc > 8<<20 {
		t.Errorf("zip of 200 MiB allocated %d MiB, want < 8", alloc>>20)
	}
}
