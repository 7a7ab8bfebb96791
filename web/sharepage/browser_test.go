package sharepage

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine/store"
	"github.com/hearth-media/hearth/engine/thumb"
	"github.com/hearth-media/hearth/web/internal/browsertest"

	eshare "github.com/hearth-media/hearth/engine/share"
)

// rangeLog records the Range headers of requests, by path.
type rangeLog struct {
	mu   sync.Mutex
	seen map[string][]string
}

func (l *rangeLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rg := r.Header.Get("Range"); rg != "" {
			l.mu.Lock()
			l.seen[r.URL.Path] = append(l.seen[r.URL.Path], rg)
			l.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

func (l *rangeLog) ranges(path string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.seen[path])
}

// rotatedJPEG is a 640x480 JPEG stored landscape with EXIF orientation 6
// (shown portrait): left half black, right half white as stored.
func rotatedJPEG(t *testing.T) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 640, 480))
	for y := range 480 {
		for x := 320; x < 640; x++ {
			img.SetGray(x, y, color.Gray{Y: 255})
		}
	}
	var b bytes.Buffer
	jpeg.Encode(&b, img, nil)
	var tiff bytes.Buffer
	tiff.WriteString("MM")
	binary.Write(&tiff, binary.BigEndian, []uint16{42, 0, 8, 1, 0x0112, 3, 0, 1, 6, 0, 0, 0})
	seg := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	out := binary.BigEndian.AppendUint16([]byte{0xFF, 0xD8, 0xFF, 0xE1}, uint16(len(seg)+2))
	return append(append(out, seg...), b.Bytes()[2:]...)
}

// TestBrowserPhone: Debian's headless chromium opens a channel share at a
// phone viewport, as someone with nothing installed would: the gallery
// shows every photo's thumbnail (JPEG with EXIF rotation, PNG, WebP), the
// video plays through Range requests, "Download all" saves a zip that
// unpacks to files identical to the originals, a file named like HTML
// shows as text, the page fits the screen, and no script error or CSP
// violation is reported. Screenshots go to browsertest.ArtifactDir.
func TestBrowserPhone(t *testing.T) {
	if testing.Short() {
		t.Skip("starts chromium")
	}
	clip, err := os.ReadFile(filepath.Join("..", "internal", "browsertest", "testdata", "clip.webm"))
	if err != nil {
		t.Fatal(err)
	}
	var pngBuf bytes.Buffer
	pimg := image.NewRGBA(image.Rect(0, 0, 300, 300))
	for y := range 300 {
		for x := range 300 {
			pimg.SetRGBA(x, y, color.RGBA{255, uint8(y * 200 / 300), 40, 255}) // a sunset gradient
		}
	}
	png.Encode(&pngBuf, pimg)
	files := map[string][]byte{
		"beach/IMG_0001.jpg":       rotatedJPEG(t),
		"beach/sunset.png":         pngBuf.Bytes(),
		"beach/dog.webp":           webpBytes(t),
		"beach/clip.webm":          clip,
		"<b>bold</b> notes.html":   []byte("<script>alert(1)</script>"),
		"Grandma's recipe (1).txt": []byte("flour, eggs\n"),
	}

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
	chDir := filepath.Join(dir, "Summer")
	for p, b := range files {
		fp := filepath.Join(chDir, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(fp), 0o755)
		if err := os.WriteFile(fp, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shares := eshare.New(st, nil)
	ch := folderChannels{"Summer": chDir}
	rl := &rangeLog{seen: map[string][]string{}}
	srv := httptest.NewServer(rl.wrap(NewHandler(Options{Shares: shares, Channels: ch, Thumbs: th})))
	t.Cleanup(srv.Close)
	s, err := shares.Create(eshare.CreateRequest{Channel: "Summer", Note: "Summer 2026 <3"})
	if err != nil {
		t.Fatal(err)
	}
	base := srv.URL + "/s/" + s.Token

	b := browsertest.Start(t)
	p := b.NewPage(t, browsertest.Phone)
	dl := t.TempDir()
	p.Call(t, "Page.setDownloadBehavior", map[string]any{"behavior": "allow", "downloadPath": dl})
	p.Navigate(t, base)

	// Thumbnails: every photo's tile has a decoded image; the rotated
	// JPEG's is portrait.
	p.WaitFor(t, `document.querySelectorAll(".grid img").length === 3 && [...document.querySelectorAll(".grid img")].every(i => i.complete && i.naturalWidth > 0)`)
	var tiles []struct {
		Alt  string
		W, H int
	}
	p.Eval(t, `[...document.querySelectorAll(".grid img")].map(i => ({Alt: i.alt, W: i.naturalWidth, H: i.naturalHeight}))`, &tiles)
	for _, tl := range tiles {
		if tl.W > 320 || tl.H > 320 || tl.W == 0 {
			t.Errorf("thumbnail %s is %dx%d, want at most 320 px", tl.Alt, tl.W, tl.H)
		}
		if tl.Alt == "IMG_0001.jpg" && tl.W >= tl.H {
			t.Errorf("thumbnail of the EXIF-rotated photo is %dx%d, want portrait", tl.W, tl.H)
		}
	}
	var fits struct{ Scroll, Client int }
	p.Eval(t, `({Scroll: document.documentElement.scrollWidth, Client: document.documentElement.clientWidth})`, &fits)
	if fits.Scroll > fits.Client {
		t.Errorf("page is %d px wide in a %d px viewport: it scrolls sideways on a phone", fits.Scroll, fits.Client)
	}
	// The HTML-named file is text: its name is shown literally and no
	// element of the page came from it.
	var text struct {
		HasName bool
		Bold    int
	}
	p.Eval(t, `({HasName: document.body.innerText.includes("<b>bold</b> notes.html"), Bold: document.querySelectorAll("b").length})`, &text)
	if !text.HasName || text.Bold != 0 {
		t.Errorf("HTML-named file: name shown as text %v, <b> elements %d", text.HasName, text.Bold)
	}
	p.Screenshot(t, "phone-page")

	// The video plays, through Range requests.
	var canPlay string
	p.Eval(t, `document.createElement("video").canPlayType('video/webm; codecs="vp8, vorbis"')`, &canPlay)
	if canPlay == "" {
		t.Fatalf("this chromium cannot play WebM VP8/Vorbis")
	}
	var src string
	p.Eval(t, `(async () => { const v = document.querySelector("video"); v.muted = true; await v.play(); return new URL(v.currentSrc).pathname })()`, &src)
	p.WaitFor(t, `document.querySelector("video").currentTime > 1`)
	if r := rl.ranges(src); len(r) == 0 {
		t.Errorf("video %s played without a Range request", src)
	}
	p.Eval(t, `document.querySelector("video").scrollIntoView()`, nil)
	p.Screenshot(t, "phone-video")
	p.Eval(t, `document.querySelector("video").pause()`, nil)

	// Download all: a real tap on the button; the browser saves the zip.
	p.Click(t, `a[href$="/all.zip"]`)
	var zipPath string
	deadline := time.Now().Add(browsertest.Timeout)
	for zipPath == "" && time.Now().Before(deadline) {
		m, _ := filepath.Glob(filepath.Join(dl, "*.zip"))
		if len(m) == 1 {
			if _, err := zip.OpenReader(m[0]); err == nil {
				zipPath = m[0]
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if zipPath == "" {
		ents, _ := os.ReadDir(dl)
		t.Fatalf("no zip downloaded within %s (download folder: %v)", browsertest.Timeout, ents)
	}
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	got := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got[f.Name], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("unzip %s: %v", f.Name, err)
		}
	}
	if len(got) != len(files) {
		t.Errorf("zip holds %d files, want %d", len(got), len(files))
	}
	for name, want := range files {
		if !bytes.Equal(got[name], want) {
			t.Errorf("zip entry %q: %d bytes, want the original's %d", name, len(got[name]), len(want))
		}
	}

	// A photo at full size.
	p.Navigate(t, base)
	p.Click(t, `.grid a[title="sunset.png"]`)
	p.WaitFor(t, `document.images.length === 1 && document.images[0].complete && document.images[0].naturalWidth === 300`)
	p.Screenshot(t, "phone-photo")

	if errs := p.Errors(); len(errs) > 0 {
		t.Errorf("page errors (scripts, CSP, failed loads):\n  %s", strings.Join(errs, "\n  "))
	}
	t.Logf("zip %s, video %s ranges %v", filepath.Base(zipPath), src, rl.ranges(src))
}
