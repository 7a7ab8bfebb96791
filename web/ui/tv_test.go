package ui_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/channel"
	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/engine/library"
	"github.com/hearth-media/hearth/engine/mutable"
	"github.com/hearth-media/hearth/engine/store"
	"github.com/hearth-media/hearth/engine/thumb"
	"github.com/hearth-media/hearth/web"
	"github.com/hearth-media/hearth/web/internal/browsertest"
)

// tvSite is a daemon (startHearth) with content for the TV app: a
// finished torrent with a video and a song, an owned channel of three
// photos, and a torrent that downloads forever (no peers).
type tvSite struct {
	*hearth
	Incoming engine.Torrent // the downloading torrent
}

func startTVSite(t *testing.T, o hearthOptions) *tvSite {
	t.Helper()
	ctx := context.Background()
	log := enginetest.Logger(t)
	thumbs, err := thumb.New(thumb.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}

	// Another device publishes "Holiday" (two photos); the TV's channel
	// manager finds it through a LAN stand-in that answers with that
	// device's signed items and peer address.
	pub := enginetest.StartNode(t, enginetest.NodeOptions{})
	pm := startChannels(t, pub.Engine, nil)
	holiday := writePhotos(t, 4, color.RGBA{230, 160, 30, 255}, color.RGBA{120, 40, 160, 255})
	publish(t, pm, "Holiday", holiday)
	link, err := pm.Link("Holiday")
	if err != nil {
		t.Fatal(err)
	}

	var chm *channel.Manager
	tweak := o.Tweak
	o.Tweak = func(wo *web.Options) {
		wo.Thumbs = thumbs
		chm = startChannels(t, wo.Engine.(*engine.Engine), lanFunc(func(context.Context, [20]byte) ([]mutable.Item, []string, error) {
			return pm.Held(), []string{pub.PeerAddr()}, nil
		}))
		wo.Channels = chm
		if tweak != nil {
			tweak(wo)
		}
	}
	h := startHearth(t, o) // h.Channels runs unused: chm serves the API
	e := h.Engine

	clip, err := os.ReadFile(filepath.Join("..", "internal", "browsertest", "testdata", "clip.webm"))
	if err != nil {
		t.Fatal(err)
	}
	movies := makeContent(t, "Movies", 32<<10, map[string][]byte{
		"clip.webm": clip,
		"song.mp3":  bytes.Repeat([]byte{0xAA}, 20000), // an extension is enough to be music
	})
	mt, _, err := e.Add(ctx, engine.AddRequest{Metainfo: movies.Metainfo, Dir: movies.Dir})
	if err != nil {
		t.Fatal(err)
	}
	ch := publish(t, chm, "Family photos", writePhotos(t, 1, color.RGBA{200, 40, 40, 255}, color.RGBA{40, 160, 60, 255}, color.RGBA{40, 80, 200, 255}))

	// A torrent whose data are nowhere: it stays downloading.
	in := makeContent(t, "Incoming", 32<<10, map[string][]byte{"big.bin": bytes.Repeat([]byte{1}, 1<<20)})
	it, _, err := e.Add(ctx, engine.AddRequest{Metainfo: in.Metainfo, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	sub, _, err := chm.Subscribe(ctx, link, channel.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, e, fmt.Sprint(mt.ID), 30*time.Second, "movies verified", enginetest.Complete)
	enginetest.WaitFor(t, e, fmt.Sprint(ch.TorrentID), 30*time.Second, "channel torrent verified", enginetest.Complete)
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := chm.Subscription(sub.ID)
		if err == nil && s.State == channel.StateSynced && s.NewItems == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscription after 30 s: %+v, %v; want synced with 2 new items", s, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	log.Debug("tv site ready")

	// The library indexes in the background (every 5 s).
	deadline = time.Now().Add(30 * time.Second)
	for {
		page, err := h.Library.Find(library.Query{Limit: 100})
		if err == nil && countKinds(page.Items) == 7 && allProbed(page.Items) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("library after 30 s: %+v, %v; want 7 probed media items", page.Items, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return &tvSite{hearth: h, Incoming: it}
}

// lanFunc is a channel.LAN answering with a function.
type lanFunc func(ctx context.Context, target [20]byte) ([]mutable.Item, []string, error)

func (f lanFunc) Lookup(ctx context.Context, target [20]byte) ([]mutable.Item, []string, error) {
	return f(ctx, target)
}

// startChannels runs a channel manager over e with its own memory store
// (DHT off; lan may be nil).
func startChannels(t *testing.T, e *engine.Engine, lan channel.LAN) *channel.Manager {
	t.Helper()
	st, err := store.Open(store.Options{Backend: store.BackendMemory})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m, err := channel.New(channel.Options{
		Engine: e, Store: st, LAN: lan, Logger: enginetest.Logger(t),
		Dir:          filepath.Join(t.TempDir(), "channels"),
		DownloadDir:  func() string { return e.Settings().DownloadDir },
		PublishDelay: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return m
}

// publish creates channel name with the files and publishes it.
func publish(t *testing.T, m *channel.Manager, name string, paths []string) channel.Channel {
	t.Helper()
	if _, err := m.Create(name, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := m.AddItems(name, paths); err != nil {
		t.Fatal(err)
	}
	ch, err := m.Publish(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// writePhotos writes photo<first>.jpg, photo<first+1>.jpg… of the colours.
func writePhotos(t *testing.T, first int, colours ...color.RGBA) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i, c := range colours {
		p := filepath.Join(dir, fmt.Sprintf("photo%d.jpg", first+i))
		if err := os.WriteFile(p, jpegOf(t, c), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// countKinds counts the video, audio and photo items.
func countKinds(items []library.Item) int {
	n := 0
	for _, it := range items {
		if it.Kind == library.KindVideo || it.Kind == library.KindAudio || it.Kind == library.KindPhoto {
			n++
		}
	}
	return n
}

func allProbed(items []library.Item) bool {
	for _, it := range items {
		if it.Complete && !it.Probed {
			return false
		}
	}
	return true
}

// jpegOf is a 640×480 photo of one colour with a lighter band.
func jpegOf(t *testing.T, c color.RGBA) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 640, 480))
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			px := c
			if y > 200 && y < 280 {
				px = color.RGBA{c.R/2 + 120, c.G/2 + 120, c.B/2 + 120, 255}
			}
			img.SetRGBA(x, y, px)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// focusJS describes the focused element: its accessible label, whether it
// is on screen and on top (not clipped or covered), and whether a focus
// ring is drawn.
const focusJS = `(() => {
  const a = document.activeElement;
  if (!a || a === document.body) return {label: "", screen: ""};
  const r = a.getBoundingClientRect(), cs = getComputedStyle(a);
  const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
  const top = document.elementFromPoint(cx, cy);
  const scr = a.closest(".scr");
  return {
    label: a.getAttribute("aria-label") || a.textContent.trim(),
    screen: scr ? scr.id : "",
    onScreen: r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight,
    onTop: !!top && (top === a || a.contains(top)),
    ring: (cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) > 0) || (cs.boxShadow !== "none" && cs.boxShadow !== ""),
  };
})()`

type focusInfo struct {
	Label    string `json:"label"`
	Screen   string `json:"screen"`
	OnScreen bool   `json:"onScreen"`
	OnTop    bool   `json:"onTop"`
	Ring     bool   `json:"ring"`
}

// expectFocus waits until the focused control's label starts with want on
// screen scr, then checks that it is visible with a focus ring.
func expectFocus(t *testing.T, p *browsertest.Page, scr, want string) {
	t.Helper()
	var f focusInfo
	deadline := time.Now().Add(browsertest.Timeout)
	for {
		p.Eval(t, focusJS, &f)
		if f.Screen == scr && strings.HasPrefix(f.Label, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("focus = %q on screen %q, want %q on %q", f.Label, f.Screen, want, scr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !f.OnScreen || !f.OnTop {
		t.Errorf("focused %q: on screen %v, on top %v; want both", f.Label, f.OnScreen, f.OnTop)
	}
	if !f.Ring {
		t.Errorf("focused %q has no visible focus ring (outline and box-shadow empty)", f.Label)
	}
}

// press presses keys in order, then expects the focus.
func press(t *testing.T, p *browsertest.Page, scr, want string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		p.Key(t, k)
	}
	expectFocus(t, p, scr, want)
}

func torrentState(t *testing.T, base string, id int64) string {
	t.Helper()
	var tt engine.Torrent
	if code := apiJSON(t, "GET", fmt.Sprintf("%s/api/v1/torrents/%d", base, id), nil, &tt); code != 200 {
		t.Fatalf("GET torrent %d = %d", id, code)
	}
	return string(tt.State)
}

// TestTVKeyboardWalk drives the TV app with the remote's keys only (arrows,
// Enter, Back) through every screen and action, at 720p and 1080p.
func TestTVKeyboardWalk(t *testing.T) {
	b := browsertest.Start(t)
	for _, vp := range []struct {
		name string
		vp   browsertest.Viewport
	}{{"720p", browsertest.TV720}, {"1080p", browsertest.TV1080}} {
		t.Run(vp.name, func(t *testing.T) {
			site := startTVSite(t, hearthOptions{})
			p := b.NewPage(t, vp.vp)
			// shot saves a screenshot of a screen and checks it: every
			// control named, no page errors so far.
			shot := func(name string) {
				t.Helper()
				p.Screenshot(t, vp.name+"-"+name)
				checkPage(t, p, name)
			}
			p.Navigate(t, site.URL+"/tv")
			expectFocus(t, p, "home", "Videos")
			p.WaitFor(t, `document.querySelectorAll("#r-downloads .card").length > 0`)
			var px float64
			p.Eval(t, `parseFloat(getComputedStyle(document.querySelector("#home .t")).fontSize)`, &px)
			if least := float64(vp.vp.Height) / 30 * 0.99; px < least {
				t.Errorf("card title font = %.1f px, want at least %.1f", px, least)
			}
			shot("home")

			// Home rows: Down through every row; Up comes back to the
			// column last used in a row.
			press(t, p, "home", "Channel Family photos", "ArrowDown")
			press(t, p, "home", "Play clip.webm", "ArrowDown")
			press(t, p, "home", "Play song.mp3", "ArrowDown")
			press(t, p, "home", "Show photo", "ArrowDown")
			press(t, p, "home", "Show photo", "ArrowRight")
			var second string
			p.Eval(t, `document.activeElement.getAttribute("aria-label")`, &second)
			press(t, p, "home", "Download Incoming", "ArrowDown")
			press(t, p, "home", second, "ArrowUp")
			press(t, p, "home", "Play clip.webm", "ArrowUp", "ArrowUp")

			// Player: Enter plays; Right seeks 10 s; MediaPlayPause pauses;
			// Left seeks back; Back leaves, to the card that opened it.
			press(t, p, "player", "Position", "Enter")
			p.WaitFor(t, `!document.getElementById("video").paused && document.getElementById("video").currentTime > 0.3`)
			shot("player")
			now := func() float64 {
				var s float64
				p.Eval(t, `document.getElementById("video").currentTime`, &s)
				return s
			}
			before := now()
			press(t, p, "player", "Position", "ArrowRight")
			if after := now(); after < before+9 {
				t.Errorf("after ArrowRight currentTime = %.1f, want ≥ %.1f + 9", after, before)
			}
			press(t, p, "player", "Position", "MediaPlayPause")
			p.WaitFor(t, `document.getElementById("video").paused && document.getElementById("player").dataset.state === "paused"`)
			press(t, p, "player", "Position", "ArrowRight")
			before = now()
			press(t, p, "player", "Position", "ArrowLeft")
			left := now()
			if left > before-9 {
				t.Errorf("after ArrowLeft currentTime = %.1f, want ≤ %.1f - 9", left, before)
			}
			press(t, p, "home", "Play clip.webm", "Escape")

			// Leaving saved the position: Continue watching has it, and
			// starts there.
			var cont struct {
				Items []struct {
					Name     string  `json:"name"`
					Position float64 `json:"position"`
				} `json:"items"`
			}
			if code := apiJSON(t, "GET", site.URL+"/api/v1/library/continue", nil, &cont); code != 200 || len(cont.Items) != 1 ||
				cont.Items[0].Name != "clip.webm" || cont.Items[0].Position < left-1.5 || cont.Items[0].Position > left+0.5 {
				t.Errorf("continue = %d %+v, want clip.webm at %.1f s", code, cont.Items, left)
			}
			p.WaitFor(t, `document.querySelector("#r-continue .card") !== null`)
			press(t, p, "home", "Channel Family photos", "ArrowUp")
			press(t, p, "home", "Continue clip.webm", "ArrowUp")
			shot("home-continue")
			press(t, p, "player", "Position", "Enter")
			p.WaitFor(t, `document.getElementById("video").currentTime >= 9`)
			// The remote's media keys: fast forward and rewind 30 s; stop.
			press(t, p, "player", "Position", "MediaFastForward")
			if s := now(); s < 25 {
				t.Errorf("after MediaFastForward currentTime = %.1f, want ≥ 25 (the end of the 30 s clip)", s)
			}
			press(t, p, "player", "Position", "MediaRewind")
			if s := now(); s > 3 {
				t.Errorf("after MediaRewind currentTime = %.1f, want ≤ 3", s)
			}
			press(t, p, "home", "Continue clip.webm", "MediaStop")
			press(t, p, "player", "Position", "Enter")
			press(t, p, "home", "Continue clip.webm", "BrowserBack")

			// A channel: its grid, its slideshow (next, previous, pause), a
			// photo from the grid.
			press(t, p, "home", "Channel Family photos", "ArrowDown")
			press(t, p, "grid", "Slideshow", "Enter")
			p.WaitFor(t, `document.querySelectorAll("#grid-items .card").length === 3`)
			p.WaitFor(t, `Array.from(document.querySelectorAll("#grid-items img")).filter(i => i.naturalWidth > 0).length === 3`)
			shot("channel")
			press(t, p, "slides", "photo1.jpg", "Enter")
			p.WaitFor(t, `document.getElementById("slide").complete && document.getElementById("slide").naturalWidth === 640`)
			shot("slideshow")
			press(t, p, "slides", "photo2.jpg", "ArrowRight")
			press(t, p, "slides", "photo1.jpg", "ArrowLeft")
			press(t, p, "slides", "photo1.jpg", "Enter")
			p.WaitFor(t, `document.getElementById("slides").dataset.state === "paused"`)
			press(t, p, "slides", "photo3.jpg", "ArrowLeft")
			press(t, p, "grid", "Slideshow", "Backspace")
			press(t, p, "grid", "Show photo1.jpg", "ArrowDown")
			press(t, p, "grid", "Show photo2.jpg", "ArrowRight")
			press(t, p, "slides", "photo2.jpg", "Enter")
			press(t, p, "grid", "Show photo2.jpg", "Escape")
			press(t, p, "home", "Channel Family photos", "Escape")

			// A followed channel with new items shows a badge until it is
			// opened.
			press(t, p, "home", "Channel Holiday, 2 new", "ArrowRight")
			var badge string
			p.Eval(t, `document.activeElement.querySelector(".badge").textContent`, &badge)
			if badge != "2" {
				t.Errorf("badge of Holiday = %q, want 2", badge)
			}
			shot("channels")
			press(t, p, "grid", "Slideshow", "Enter")
			p.WaitFor(t, `document.querySelectorAll("#grid-items .card").length === 2`)
			press(t, p, "home", "Channel Holiday", "Escape")
			p.WaitFor(t, `document.activeElement.getAttribute("aria-label") === "Channel Holiday" && !document.activeElement.querySelector(".badge")`)
			expectFocus(t, p, "home", "Channel Holiday")
			var sub struct {
				Subscriptions []struct {
					Name     string `json:"name"`
					NewItems int    `json:"newItems"`
				} `json:"subscriptions"`
			}
			if apiJSON(t, "GET", site.URL+"/api/v1/subscriptions", nil, &sub); len(sub.Subscriptions) != 1 || sub.Subscriptions[0].NewItems != 0 {
				t.Errorf("subscriptions after opening Holiday = %+v, want its new items seen", sub.Subscriptions)
			}
			press(t, p, "home", "Channel Family photos", "ArrowLeft")
			press(t, p, "home", "Continue clip.webm", "ArrowUp")

			// The menu: library grids, downloads, settings.
			press(t, p, "home", "Videos", "ArrowUp")
			press(t, p, "grid", "Play clip.webm", "Enter")
			shot("videos")
			press(t, p, "home", "Videos", "Escape")
			press(t, p, "grid", "Play song.mp3", "ArrowRight", "Enter")
			p.Eval(t, `history.back()`, nil) // the browser's own Back
			expectFocus(t, p, "home", "Music")
			press(t, p, "grid", "Slideshow", "ArrowRight", "Enter")
			press(t, p, "grid", "Show photo", "ArrowDown")
			p.WaitFor(t, `document.querySelectorAll("#grid-items .card").length === 5`)
			shot("photos")
			// A webOS remote's Back: no key name, key code 461.
			for _, typ := range []string{"rawKeyDown", "keyUp"} {
				p.Call(t, "Input.dispatchKeyEvent", map[string]any{"type": typ, "key": "Unidentified", "windowsVirtualKeyCode": 461, "nativeVirtualKeyCode": 461})
			}
			expectFocus(t, p, "home", "Photos")

			// Downloads: pause then resume the downloading torrent.
			press(t, p, "downloads", "", "ArrowRight", "Enter")
			for i := 0; i < 5; i++ {
				var f focusInfo
				p.Eval(t, focusJS, &f)
				if f.Label == "Pause Incoming" {
					break
				}
				p.Key(t, "ArrowDown")
			}
			expectFocus(t, p, "downloads", "Pause Incoming")
			shot("downloads")
			press(t, p, "downloads", "Resume Incoming", "Enter")
			if s := torrentState(t, site.URL, site.Incoming.ID); s != string(engine.StateStopped) {
				t.Errorf("after Pause: torrent state %s, want stopped", s)
			}
			press(t, p, "downloads", "Pause Incoming", "Enter")
			if s := torrentState(t, site.URL, site.Incoming.ID); s == string(engine.StateStopped) {
				t.Errorf("after Resume: torrent state %s, want running", s)
			}
			press(t, p, "home", "Downloads", "Escape")

			// Home's Downloads row opens the Downloads screen at that torrent.
			press(t, p, "home", "Download Incoming", "ArrowDown", "ArrowDown", "ArrowDown", "ArrowDown", "ArrowDown", "ArrowDown")
			press(t, p, "downloads", "Pause Incoming", "Enter")
			press(t, p, "home", "Download Incoming", "Escape")

			// Settings.
			for i := 0; i < 6; i++ {
				p.Key(t, "ArrowUp")
			}
			press(t, p, "home", "Settings", "ArrowRight", "ArrowRight", "ArrowRight", "ArrowRight")
			press(t, p, "settings", "Sign out", "Enter")
			p.WaitFor(t, `document.getElementById("set-version").textContent.startsWith("v0.0.0-test")`)
			shot("settings")
			press(t, p, "home", "Settings", "Escape")

			checkPage(t, p, "home at the end")
		})
	}
}

// TestTVLiveDownloads: a torrent added while the TV shows Home appears in
// the Downloads row by itself, and its card's progress moves as it
// downloads from a seeder on loopback — the same node, its text changed
// (no re-render). Complete, it leaves the row.
func TestTVLiveDownloads(t *testing.T) {
	h := startHearth(t, hearthOptions{})
	c := makeContent(t, "Holiday", 16<<10, map[string][]byte{"a.bin": bytes.Repeat([]byte("hearth"), 100_000)})
	magnet := seed(t, c, 100) // 600 kB at 100 kB/s: seconds of progress

	b := browsertest.Start(t)
	p := b.NewPage(t, browsertest.TV720)
	p.Navigate(t, h.URL+"/tv")
	expectFocus(t, p, "home", "Videos")
	p.WaitFor(t, `document.getElementById("r-downloads").hidden`)

	if code := apiJSON(t, "POST", h.URL+"/api/v1/torrents", map[string]any{"magnet": magnet}, nil); code != http.StatusCreated {
		t.Fatalf("add magnet = %d, want 201", code)
	}
	// The card node is kept, and every text it shows recorded.
	p.WaitFor(t, `(() => { const c = document.querySelector('#r-downloads .card[aria-label="Download Holiday"]');
	  if (c && !window.tvCard) {
	    window.tvCard = c;
	    const sub = c.querySelector(".sub"), seen = window.tvTexts = [sub.textContent];
	    new MutationObserver(() => seen.includes(sub.textContent) || seen.push(sub.textContent))
	      .observe(sub, {childList: true, characterData: true, subtree: true});
	  }
	  return c && !document.getElementById("r-downloads").hidden; })()`)
	press(t, p, "home", "Download Holiday", "ArrowDown")
	var texts []string
	p.WaitFor(t, `window.tvCard.isConnected && /^([1-9]|[1-9][0-9]) %/.test(window.tvCard.querySelector(".sub").textContent)`)
	p.Screenshot(t, "downloading")
	p.WaitFor(t, `!window.tvCard.isConnected && document.getElementById("r-downloads").hidden`)
	p.Eval(t, `window.tvTexts`, &texts)
	t.Logf("card texts seen: %q", texts)
	if len(texts) < 3 {
		t.Errorf("progress texts seen on one card node = %q, want it to change in place", texts)
	}
	// The card was focused when it left: the focus moves on, it is not lost.
	var f focusInfo
	p.Eval(t, focusJS, &f)
	if f.Screen != "home" || f.Label == "" {
		t.Errorf("focus after the card left = %+v, want a control on home", f)
	}
	checkPage(t, p, "home")
}

// TestTVPairing: a TV the daemon does not trust (loopback not trusted, a
// password set) shows the pairing screen with a big match number; the
// owner approves the request with that number and the TV is in, with its
// session cookie; Sign out in Settings puts it back on the pairing screen.
func TestTVPairing(t *testing.T) {
	h := startHearth(t, hearthOptions{Password: testPassword})
	// A Basic challenge on a page's fetch makes the browser wait for its
	// own password dialog (headless: forever): the pairing screen never
	// comes. Say so at once rather than after a timeout.
	req, _ := http.NewRequest("GET", h.URL+"/api/v1/session", nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	req.Header.Set("Sec-Fetch-Dest", "empty")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if c := resp.Header.Get("WWW-Authenticate"); resp.StatusCode == http.StatusUnauthorized && c != "" {
		t.Fatalf("a page's fetch gets 401 with WWW-Authenticate %s: the browser would show its password dialog over the TV app (web/auth.go unauthorized must leave the challenge out for same-origin fetches)", c)
	}
	b := browsertest.Start(t)
	p := b.NewPage(t, browsertest.TV720)
	p.Navigate(t, h.URL+"/tv")
	p.WaitFor(t, `document.getElementById("pair").classList.contains("on") && !!document.getElementById("pair-match")`)
	expectFocus(t, p, "pair", "6-digit code")
	var shown struct {
		Match string  `json:"match"`
		Px    float64 `json:"px"`
	}
	p.Eval(t, `(() => { const m = document.getElementById("pair-match");
	  return {match: m.textContent, px: parseFloat(getComputedStyle(m).fontSize)}; })()`, &shown)
	if len(shown.Match) != 4 || shown.Px < 3*24 {
		t.Errorf("match number %q at %.0f px, want 4 digits at ≥ 72 px", shown.Match, shown.Px)
	}
	press(t, p, "pair", "Pair", "ArrowDown")
	press(t, p, "pair", "6-digit code", "ArrowUp")
	p.Screenshot(t, "pairing")
	// The 401s that brought the pairing screen are expected errors.
	for _, e := range p.Errors() {
		if !strings.Contains(e, "401") {
			t.Errorf("page error: %s", e)
		}
	}
	p.ClearErrors()

	var pending struct {
		Pending []struct {
			ID, Name, Match string
		} `json:"requests"`
	}
	if code := ownerJSON(t, "GET", h.URL+"/api/v1/pair", &pending); code != 200 {
		t.Fatalf("GET /api/v1/pair as owner = %d", code)
	}
	id := ""
	for _, r := range pending.Pending {
		if r.Match == shown.Match && r.Name == "TV" {
			id = r.ID
		}
	}
	if id == "" {
		t.Fatalf("pending requests %+v: none named TV with match %s", pending.Pending, shown.Match)
	}
	if code := ownerJSON(t, "POST", h.URL+"/api/v1/pair/"+id+"/approve", nil); code != 200 {
		t.Fatalf("approve = %d", code)
	}

	// The TV collects its token, sets its cookie, reloads: Home.
	expectFocus(t, p, "home", "Videos")
	var who string
	p.Eval(t, `fetch("/api/v1/session").then(r => r.json()).then(d => d.you.name)`, &who)
	if who != "TV" {
		t.Errorf("session after pairing: you.name = %q, want TV", who)
	}
	var cookies bool
	p.Eval(t, `document.cookie.includes("hearth_session")`, &cookies)
	if cookies {
		t.Errorf("the session cookie is readable from JavaScript; want HttpOnly")
	}
	checkPage(t, p, "home after pairing")

	press(t, p, "home", "Settings", "ArrowRight", "ArrowRight", "ArrowRight", "ArrowRight")
	press(t, p, "settings", "Sign out", "Enter")
	p.WaitFor(t, `document.getElementById("set-you").textContent === "TV"`)
	p.Screenshot(t, "settings")
	p.Key(t, "Enter")
	p.WaitFor(t, `document.getElementById("pair").classList.contains("on") && !!document.getElementById("pair-match")`)
	var devices struct {
		Devices []struct{ Name string } `json:"devices"`
	}
	ownerJSON(t, "GET", h.URL+"/api/v1/devices", &devices)
	for _, d := range devices.Devices {
		if d.Name == "TV" {
			t.Errorf("devices after Sign out still list the TV: %+v", devices.Devices)
		}
	}
}

// TestTVGridPages: a library grid larger than one page (60 items) loads
// the next page as the focus nears the end; Down walks it row by row with
// the focused card always on screen, and Up comes back by the same column.
func TestTVGridPages(t *testing.T) {
	h := startHearth(t, hearthOptions{})
	files := map[string][]byte{}
	for i := 1; i <= 130; i++ {
		files[fmt.Sprintf("track%03d.mp3", i)] = []byte(fmt.Sprintf("ID3 not really %d", i))
	}
	album := makeContent(t, "Album", 16<<10, files)
	got, _, err := h.Engine.Add(context.Background(), engine.AddRequest{Metainfo: album.Metainfo, Dir: album.Dir})
	if err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, h.Engine, fmt.Sprint(got.ID), 30*time.Second, "album verified", enginetest.Complete)
	deadline := time.Now().Add(30 * time.Second)
	for {
		page, err := h.Library.Find(library.Query{Kind: library.KindAudio, Limit: 1000})
		if err == nil && len(page.Items) == 130 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("library after 30 s: %d items, %v; want 130", len(page.Items), err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	b := browsertest.Start(t)
	p := b.NewPage(t, browsertest.TV720)
	p.Navigate(t, h.URL+"/tv")
	expectFocus(t, p, "home", "Videos")
	press(t, p, "grid", "Play track", "ArrowRight", "Enter")
	var cols int
	p.Eval(t, `(() => { const c = document.querySelectorAll("#grid-items .card");
	  let n = 0; while (n < c.length && c[n].offsetTop === c[0].offsetTop) n++; return n; })()`, &cols)
	if cols < 3 {
		t.Fatalf("grid columns at 720p = %d, want at least 3", cols)
	}
	index := func() int {
		var i int
		p.Eval(t, `Array.prototype.indexOf.call(document.getElementById("grid-items").children, document.activeElement)`, &i)
		return i
	}
	p.Key(t, "ArrowRight")
	for want := 1; ; {
		// The move may wait for the next page.
		p.WaitFor(t, fmt.Sprintf(`Array.prototype.indexOf.call(document.getElementById("grid-items").children, document.activeElement) === %d`, want))
		expectFocus(t, p, "grid", "Play track")
		if want+cols >= 130 {
			break
		}
		// No waiting: Down on the last loaded row waits for the next page.
		p.Key(t, "ArrowDown")
		want += cols
	}
	p.Screenshot(t, "music-end")
	var n int
	p.Eval(t, `document.getElementById("grid-items").children.length`, &n)
	if n != 130 {
		t.Errorf("grid holds %d cards at the end, want all 130", n)
	}
	last := index()
	p.Key(t, "ArrowUp")
	expectFocus(t, p, "grid", "Play track")
	if got := index(); got != last-cols {
		t.Errorf("after ArrowUp focused card %d, want %d", got, last-cols)
	}
	checkPage(t, p, "music grid")
}
