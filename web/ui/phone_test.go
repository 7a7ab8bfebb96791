package ui_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/engine/mutable"
	"github.com/hearth-media/hearth/web/internal/browsertest"
)

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func clip(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "internal", "browsertest", "testdata", "clip.webm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jpegBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 120, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// evalNum evaluates js (a number) on the page.
func evalNum(t *testing.T, p *browsertest.Page, js string) float64 {
	t.Helper()
	var f float64
	p.Eval(t, js, &f)
	return f
}

// TestPhoneFlow: a phone logs in with the password, adds a magnet of a
// torrent seeded by a second engine, sees its progress reach 100 %,
// pauses and resumes it, opens its details and skips a file.
func TestPhoneFlow(t *testing.T) {
	h := startHearth(t, hearthOptions{Password: testPassword})
	noChallenge(t, h.URL)
	c := makeContent(t, "Holiday", 16<<10, map[string][]byte{
		"a.bin": randomBytes(300 << 10), "b.bin": randomBytes(200 << 10),
	})
	magnet := seed(t, c, 0)

	b := browsertest.Start(t)
	p := b.NewPage(t, browsertest.Phone)
	p.Navigate(t, h.URL+"/")
	p.WaitFor(t, `document.querySelector("#pair-pass") !== null`)
	p.Screenshot(t, "login")
	// The page asked GET /api/v1/session and got the 401 that shows this
	// screen; the browser logs that answer as a failed load.
	for _, e := range p.Errors() {
		if !strings.Contains(e, "401") || !strings.Contains(e, "/api/v1/session") {
			t.Errorf("login: page error: %s", e)
		}
	}
	p.ClearErrors()
	checkPage(t, p, "login")
	p.Click(t, "#pair-pass")
	p.Type(t, "wrong password")
	p.Click(t, "#pair-login")
	p.WaitFor(t, `document.querySelector(".pair-msg").textContent.includes("Wrong")`)
	p.ClearErrors() // the refused login is a 401 in the console
	p.Eval(t, `document.querySelector("#pair-pass").value = ""`, nil)
	p.Click(t, "#pair-pass")
	p.Type(t, testPassword)
	p.Click(t, "#pair-login")
	p.WaitFor(t, `document.querySelector("#tab-torrents") !== null && !document.querySelector("#tabs").hidden`)

	p.Click(t, "#tab-add")
	p.WaitFor(t, `document.activeElement && document.activeElement.id === "add-link"`)
	p.Type(t, magnet)
	p.Click(t, "#add-submit")
	p.WaitFor(t, `location.hash === "#torrents" && document.querySelector(".torrent .name") !== null`)
	var name string
	p.Eval(t, `document.querySelector(".torrent .name").textContent`, &name)
	if name != "Holiday" {
		t.Errorf("torrent row name = %q, want Holiday", name)
	}
	p.WaitFor(t, `document.querySelector(".torrent [role=progressbar]").getAttribute("aria-valuenow") === "100"`)
	p.Screenshot(t, "downloaded")

	p.Click(t, ".torrent .toggle")
	p.WaitFor(t, `document.querySelector(".torrent .st").textContent === "Paused"`)
	var label string
	p.Eval(t, `document.querySelector(".torrent .toggle").getAttribute("aria-label")`, &label)
	if label != "Resume Holiday" {
		t.Errorf("paused torrent's button = %q, want Resume Holiday", label)
	}
	ref := c.InfoHash
	if tt, err := h.Engine.Get(ref); err != nil || tt.State != engine.StateStopped {
		t.Errorf("engine state after Pause = %v (err %v), want stopped", tt.State, err)
	}
	p.Click(t, ".torrent .toggle")
	p.WaitFor(t, `document.querySelector(".torrent .st").textContent === "Seeding"`)

	p.Click(t, ".torrent > a")
	p.WaitFor(t, `document.querySelectorAll("#d-files input.want").length === 2`)
	var files []string
	p.Eval(t, `[...document.querySelectorAll("#d-files .fname")].map(e => e.textContent)`, &files)
	if strings.Join(files, ",") != "a.bin,b.bin" {
		t.Errorf("files = %q, want a.bin, b.bin", files)
	}
	p.Screenshot(t, "details")
	checkPage(t, p, "details")
	p.Click(t, "#f-1")
	enginetest.WaitFor(t, h.Engine, ref, 10*time.Second, "file 1 not wanted", func(tt engine.Torrent) bool {
		full, err := h.Engine.Get(ref)
		return err == nil && len(full.Files) == 2 && !full.Files[1].Wanted && full.Files[0].Wanted
	})
	p.WaitFor(t, `document.querySelector("#f-1").checked === false && document.querySelector("#d-files li:nth-child(2) .fmeta").textContent.includes("skipped")`)
}

// TestPhonePlaysWhileDownloading: the player plays a video whose download
// is still running. The seeder has only the first 70 % of the clip, so the
// download cannot finish during the test whatever the timing, and the
// download is limited to 12 kB/s (after the limiter's first 256 KiB burst,
// the other 130 KB take over 10 s). The seeder's upload is not limited: an
// upload-limited seeder closing at the end of the test sometimes panics in
// anacrolix's servePeerRequest (panicif: a request left in peerRequests
// when its read fails because the torrent closed). As a user would, the
// test ticks "Download in order" before resuming: without it the first
// pieces came last (measured with the whole clip at 8 kB/s: 14 s before the
// first byte at offset 0, 33 s before 1 s of video).
func TestPhonePlaysWhileDownloading(t *testing.T) {
	h := startHearth(t, hearthOptions{})
	data := clip(t)
	c := makeContent(t, "Clip", 16<<10, map[string][]byte{"clip.webm": data})
	magnet := seedPart(t, c, 0, int64(len(data))*7/10)
	got, _, err := h.Engine.Add(context.Background(), engine.AddRequest{Magnet: magnet, Paused: true})
	if err != nil {
		t.Fatal(err)
	}
	limit := 12
	if err := h.Engine.SetOptions(got.ID, engine.OptionsPatch{DownloadKBps: &limit}); err != nil {
		t.Fatal(err)
	}
	ref := fmt.Sprint(got.ID)

	b := browsertest.Start(t)
	p := b.NewPage(t, browsertest.Phone)
	p.Navigate(t, fmt.Sprintf("%s/#torrent/%d", h.URL, got.ID))
	p.WaitFor(t, `document.querySelector("#d-toggle")?.textContent === "Resume"`)
	p.Click(t, "#d-seq")
	enginetest.WaitFor(t, h.Engine, ref, 5*time.Second, "sequential", func(tt engine.Torrent) bool { return tt.Options.Sequential })
	p.Click(t, "#d-toggle")
	p.WaitFor(t, `document.querySelector("#d-toggle")?.textContent === "Pause"`)
	_, peer, _ := strings.Cut(magnet, "&x.pe=") // the hints of a paused add are not dialled
	if err := h.Engine.AddPeers(got.ID, []string{peer}); err != nil {
		t.Fatal(err)
	}
	// The details list the seeder from GET …/peers (refreshed every 5 s).
	p.WaitFor(t, fmt.Sprintf(`[...document.querySelectorAll("#d-peer-list li")].some(e => e.querySelector(".fname")?.textContent.startsWith(%q) && e.querySelector(".fmeta").textContent.includes("peer hint"))`, peer))
	p.WaitFor(t, `document.querySelector('#d-files a[aria-label="Play clip.webm"]') !== null`)
	p.Click(t, `#d-files a[aria-label="Play clip.webm"]`) // a tap: the page may play sound
	p.WaitFor(t, `document.querySelector("#player") !== null`)
	start := time.Now()
	p.WaitFor(t, `document.querySelector("#player").currentTime > 1`)
	took := time.Since(start)
	tt, err := h.Engine.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	if tt.Progress >= 1 || tt.State != engine.StateDownloading {
		t.Errorf("torrent %s at %.1f %% when the video reached 1 s, want downloading and < 100 %%", tt.State, tt.Progress*100)
	}
	t.Logf("video at %.1f s (%v after the tap) with the torrent at %.1f %%",
		evalNum(t, p, `document.querySelector("#player").currentTime`), took.Round(time.Millisecond), tt.Progress*100)
	p.WaitFor(t, `document.querySelector("#p-info").textContent.includes("playing while it downloads")`)
	p.Screenshot(t, "playing")

	// Leaving the player reports the position: the clip is then in
	// "continue watching".
	p.Click(t, "a.back")
	p.WaitFor(t, `document.querySelector("#player") === null`)
	var cont struct {
		Items []struct {
			Torrent  int64
			Index    int
			Position float64
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(cont.Items) == 0 && time.Now().Before(deadline) {
		apiJSON(t, "GET", h.URL+"/api/v1/library/continue", nil, &cont)
		time.Sleep(100 * time.Millisecond)
	}
	if len(cont.Items) != 1 || cont.Items[0].Torrent != got.ID || cont.Items[0].Index != 0 || cont.Items[0].Position < 1 {
		t.Errorf("continue watching after leaving the player = %+v, want torrent %d file 0 at 1 s or more", cont.Items, got.ID)
	}
}

// TestPhoneScreens opens every screen at phone and desktop sizes with data
// on it: screenshots, accessible names, no page errors.
func TestPhoneScreens(t *testing.T) {
	h := startHearth(t, hearthOptions{})
	c := makeContent(t, "Trip", 16<<10, map[string][]byte{
		"clip.webm": clip(t), "beach.jpg": jpegBytes(t), "notes.pdf": randomBytes(3000),
	})
	got, _, err := h.Engine.Add(context.Background(), engine.AddRequest{Metainfo: c.Metainfo, Dir: c.Dir})
	if err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, h.Engine, fmt.Sprint(got.ID), 20*time.Second, "seeding", enginetest.Complete)
	if _, err := h.Library.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Files in torrent order: beach.jpg 0, clip.webm 1, notes.pdf 2.
	if code := apiJSON(t, "POST", h.URL+"/api/v1/channels", map[string]string{"name": "Family photos"}, nil); code != 201 {
		t.Fatalf("create channel = %d", code)
	}
	if code := apiJSON(t, "POST", h.URL+"/api/v1/shares", map[string]any{"torrentId": got.ID, "label": "Trip for Grandma", "expiresIn": "7d"}, nil); code != 201 {
		t.Fatalf("create share = %d", code)
	}
	var ticket struct{ ID string }
	if code := apiJSON(t, "POST", h.URL+"/api/v1/pair", map[string]string{"name": "Living room TV"}, &ticket); code/100 != 2 {
		t.Fatalf("pair request = %d", code)
	}

	screens := []struct{ name, hash, ready string }{
		{"torrents", "#torrents", `document.querySelector(".torrent .name")?.textContent === "Trip"`},
		{"details", fmt.Sprintf("#torrent/%d", got.ID), `document.querySelectorAll("#d-files input.want").length === 3`},
		{"add", "#add", `document.querySelector("#add-link") !== null`},
		{"library-video", "#library/video", `document.querySelector("#lib-items .name")?.textContent === "clip.webm"`},
		{"library-photo", "#library/photo", `document.querySelector("#lib-items img, #lib-items .ph") !== null`},
		{"photo", fmt.Sprintf("#photo/%d/0", got.ID), `document.querySelector(".viewer img")?.complete === true`},
		{"player", fmt.Sprintf("#play/%d/1", got.ID), `document.querySelector("#player")?.readyState >= 1`},
		{"channels", "#channels", `document.querySelector("#ch-mine .name")?.textContent === "Family photos"`},
		{"shares", "#shares", `document.querySelector("#sh-list .name")?.textContent === "Trip for Grandma"`},
		{"settings", "#settings", `document.querySelector("#set-save") !== null && document.querySelector("#set-pairs .name")?.textContent === "Living room TV" && document.querySelector("#set-about dd") !== null`},
	}
	b := browsertest.Start(t)
	for _, vp := range []struct {
		name string
		vp   browsertest.Viewport
		dark bool
	}{{"phone", browsertest.Phone, false}, {"desktop", browsertest.Desktop, false}, {"phone-dark", browsertest.Phone, true}} {
		p := b.NewPage(t, vp.vp)
		if vp.dark {
			p.Call(t, "Emulation.setEmulatedMedia", map[string]any{"features": []map[string]string{{"name": "prefers-color-scheme", "value": "dark"}}})
		}
		p.Navigate(t, h.URL+"/")
		var dark bool
		p.Eval(t, `getComputedStyle(document.body).backgroundColor === "rgb(20, 18, 17)"`, &dark)
		if dark != vp.dark {
			t.Errorf("%s: dark background = %v, want %v", vp.name, dark, vp.dark)
		}
		p.WaitFor(t, `document.querySelector("#tab-torrents") !== null`)
		for _, s := range screens {
			p.Eval(t, fmt.Sprintf(`location.hash = %q`, s.hash), nil)
			p.WaitFor(t, s.ready)
			p.Screenshot(t, vp.name+"-"+s.name)
			checkPage(t, p, vp.name+" "+s.name)
		}
		if vp.name == "phone" {
			// Search, as typed.
			p.Eval(t, `location.hash = "#library/video"`, nil)
			p.WaitFor(t, `document.querySelector("#lib-items .name")?.textContent === "clip.webm"`)
			p.Click(t, "#lib-q")
			p.Type(t, "holiday")
			p.WaitFor(t, `document.querySelectorAll("#lib-items li").length === 0 && document.querySelector(".empty").textContent.includes("holiday")`)
			p.Eval(t, `document.querySelector("#lib-q").value = ""`, nil)
			p.Type(t, "cli")
			p.WaitFor(t, `document.querySelector("#lib-items .name")?.textContent === "clip.webm"`)
			checkPage(t, p, "library search")
		}
	}
}

// setFile puts a file in a file input, as choosing it would.
func setFile(t *testing.T, p *browsertest.Page, selector, path string) {
	t.Helper()
	var doc struct{ Root struct{ NodeID int64 } }
	if err := json.Unmarshal(p.Call(t, "DOM.getDocument", map[string]any{}), &doc); err != nil {
		t.Fatal(err)
	}
	var q struct{ NodeID int64 }
	if err := json.Unmarshal(p.Call(t, "DOM.querySelector", map[string]any{"nodeId": doc.Root.NodeID, "selector": selector}), &q); err != nil || q.NodeID == 0 {
		t.Fatalf("querySelector %s: %v (node %d)", selector, err, q.NodeID)
	}
	p.Call(t, "DOM.setFileInputFiles", map[string]any{"nodeId": q.NodeID, "files": []string{path}})
}

// TestPhoneFileNameIsText: a .torrent uploaded through the Add screen
// (with its data already in the chosen folder) whose torrent and file
// names hold HTML: the names show as text; nothing of them runs or becomes
// an element.
func TestPhoneFileNameIsText(t *testing.T) {
	h := startHearth(t, hearthOptions{})
	const evil = `<img src=x onerror=alert(1)>.txt`
	c := makeContent(t, "<b onclick=alert(2)>bold", 16<<10, map[string][]byte{evil: []byte("hello")})
	tfile := filepath.Join(t.TempDir(), "evil.torrent")
	if err := os.WriteFile(tfile, c.Metainfo, 0o644); err != nil {
		t.Fatal(err)
	}

	b := browsertest.Start(t)
	p := b.NewPage(t, browsertest.Phone)
	p.Navigate(t, h.URL+"/#add")
	p.Eval(t, `window.alerted = false; window.alert = () => { window.alerted = true; }`, nil)
	p.WaitFor(t, `document.querySelector("#add-file") !== null`)
	setFile(t, p, "#add-file", tfile)
	p.Click(t, "#add-dir")
	p.Type(t, c.Dir)
	p.Click(t, "#add-submit")
	p.WaitFor(t, `location.hash === "#torrents" && document.querySelector(".torrent .name") !== null`)
	enginetest.WaitFor(t, h.Engine, c.InfoHash, 20*time.Second, "seeding from the folder given", enginetest.Complete)
	var name string
	p.Eval(t, `document.querySelector(".torrent .name").textContent`, &name)
	if name != "<b onclick=alert(2)>bold" {
		t.Errorf("torrent name shown = %q, want the literal <b onclick=alert(2)>bold", name)
	}
	p.Click(t, ".torrent > a")
	p.WaitFor(t, `document.querySelector("#d-files .fname") !== null`)
	var shown string
	p.Eval(t, `document.querySelector("#d-files .fname").textContent`, &shown)
	if shown != evil {
		t.Errorf("file name shown = %q, want %q", shown, evil)
	}
	var n int
	p.Eval(t, `document.querySelectorAll("main img, main b").length`, &n)
	if n != 0 {
		t.Errorf("%d <img>/<b> elements made from names, want 0", n)
	}
	time.Sleep(200 * time.Millisecond) // an onerror would have fired by now
	var alerted bool
	p.Eval(t, `window.alerted`, &alerted)
	if alerted {
		t.Error("alert() ran: a name was parsed as HTML")
	}
	p.Screenshot(t, "names")
	checkPage(t, p, "names")

	// Verify, then remove with its data.
	p.Click(t, "#d-verify")
	p.WaitFor(t, `document.querySelector("#toast").textContent === "Checking the data"`)
	enginetest.WaitFor(t, h.Engine, c.InfoHash, 20*time.Second, "verified again", enginetest.Complete)
	p.Click(t, "#d-remove")
	p.WaitFor(t, `document.querySelector("dialog[open] #dlg-extra") !== null`)
	p.Click(t, "dialog[open] #dlg-extra")
	p.Click(t, "dialog[open] #dlg-ok")
	p.WaitFor(t, `location.hash === "#torrents" && document.querySelector(".torrent") === null`)
	if _, err := h.Engine.Get(c.InfoHash); err == nil {
		t.Error("the torrent is still in the engine after Remove")
	}
	if _, err := os.Stat(filepath.Join(c.Dir, c.Name, evil)); !os.IsNotExist(err) {
		t.Errorf("its file after Remove with delete data: stat err %v, want not exist", err)
	}
	checkPage(t, p, "removed")
}

// noChallenge fails the test at once if the API answers a browser
// script's 401 with a Basic challenge: Chrome then raises its own login
// dialog over the app (headless chromium hangs the request), so the app's
// login and pairing screen never shows. Checked first so the failure says
// why instead of timing out.
func noChallenge(t *testing.T, base string) {
	t.Helper()
	req, err := http.NewRequest("GET", base+"/api/v1/session", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	req.Header.Set("Sec-Fetch-Dest", "empty")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /api/v1/session without credentials = %d, want 401", resp.StatusCode)
	}
	if c := resp.Header.Get("WWW-Authenticate"); c != "" {
		t.Fatalf("a same-origin fetch's 401 carries WWW-Authenticate: %s; the browser shows its own password dialog instead of the app's login (web/auth.go unauthorized: leave the challenge out when Sec-Fetch-Site is same-origin and Sec-Fetch-Dest is empty)", c)
	}
}

// login signs p in with the test password through the login screen.
func login(t *testing.T, p *browsertest.Page, base string) {
	t.Helper()
	p.Navigate(t, base+"/")
	p.WaitFor(t, `document.activeElement?.id === "pair-pass"`)
	p.Type(t, testPassword)
	p.Key(t, "Enter")
	p.WaitFor(t, `document.querySelector("#tab-torrents") !== null && !document.querySelector("#tabs").hidden`)
	p.ClearErrors() // the 401 of the first session probe
}

// TestPhonePairing: a second browser (a TV, a friend's laptop) asks to
// pair with the keyboard only and shows a match number; the owner, signed
// in on a phone, sees the request with the same number in Settings and
// approves it; the second browser is then in, and listed as a device.
func TestPhonePairing(t *testing.T) {
	h := startHearth(t, hearthOptions{Password: testPassword})
	noChallenge(t, h.URL)
	owner := browsertest.Start(t).NewPage(t, browsertest.Phone)
	login(t, owner, h.URL)
	owner.Eval(t, `location.hash = "#settings"`, nil)
	owner.WaitFor(t, `document.querySelector("#set-pairs li.muted") !== null`)

	guest := browsertest.Start(t).NewPage(t, browsertest.Desktop)
	guest.Navigate(t, h.URL+"/")
	guest.WaitFor(t, `document.activeElement?.id === "pair-pass"`)
	guest.Key(t, "Tab")
	guest.WaitFor(t, `document.activeElement?.id === "pair-login"`)
	guest.Key(t, "Tab")
	guest.WaitFor(t, `document.activeElement?.id === "pair-start"`)
	guest.Key(t, "Enter")
	guest.WaitFor(t, `/^[0-9]{4}$/.test(document.querySelector("#pair-match")?.textContent ?? "")`)
	var match string
	guest.Eval(t, `document.querySelector("#pair-match").textContent`, &match)
	guest.Screenshot(t, "guest-match")

	// The owner's list follows the pairing event; no reload.
	owner.WaitFor(t, fmt.Sprintf(`document.querySelector("#set-pairs .pair-match")?.textContent === %q`, match))
	owner.Screenshot(t, "owner-request")
	checkPage(t, owner, "owner settings")
	owner.Click(t, `#set-pairs button[aria-label^="Approve"]`)

	guest.WaitFor(t, `document.querySelector("#tab-torrents") !== null && !document.querySelector("#tabs").hidden`)
	guest.ClearErrors() // the 401 of the first session probe
	guest.Eval(t, `location.hash = "#settings"`, nil)
	guest.WaitFor(t, `[...document.querySelectorAll("#set-devices .name")].some(e => e.textContent === "Chromium on Linux")`)
	checkPage(t, guest, "guest settings")
	if devs := h.Access.Devices(); len(devs) != 2 {
		t.Errorf("paired devices = %d (%+v), want 2 (the owner's login and the guest)", len(devs), devs)
	}

	// Signing out revokes the guest's device and shows the login again.
	guest.Click(t, "#set-logout")
	guest.WaitFor(t, `document.querySelector("#pair-pass") !== null`)
	if devs := h.Access.Devices(); len(devs) != 1 {
		t.Errorf("paired devices after the guest signed out = %d (%+v), want 1", len(devs), devs)
	}

	// Pairing again with the 6-digit code "hearth pair" shows, typed.
	guest.WaitFor(t, `document.activeElement?.id === "pair-pass"`)
	guest.Key(t, "Tab")
	guest.Key(t, "Tab")
	guest.WaitFor(t, `document.activeElement?.id === "pair-start"`)
	guest.Key(t, "Enter")
	guest.WaitFor(t, `document.activeElement?.id === "pair-code"`)
	pending := h.Access.PendingPairings()
	if len(pending) != 1 {
		t.Fatalf("pending pairings = %+v, want 1", pending)
	}
	guest.Type(t, "000000")
	guest.Key(t, "Enter")
	guest.WaitFor(t, `document.querySelector(".pair-msg").textContent !== "" && document.querySelector(".pair-msg").textContent !== "Checking the code…"`)
	var wrong string
	guest.Eval(t, `document.querySelector(".pair-msg").textContent`, &wrong)
	t.Logf("a wrong code says: %s", wrong)
	guest.Eval(t, `document.querySelector("#pair-code").select()`, nil)
	guest.Type(t, pending[0].Code)
	guest.Key(t, "Enter")
	guest.WaitFor(t, `document.querySelector("#tab-torrents") !== null && !document.querySelector("#tabs").hidden`)
	if devs := h.Access.Devices(); len(devs) != 2 {
		t.Errorf("paired devices after pairing by code = %d, want 2", len(devs))
	}
}

// TestPhoneManage walks the channel, share and settings screens' actions:
// create a channel, add a file from the device, publish it, share it as a
// web page, show the QR code, revoke the share; change the speed limits
// and the alternative-speed schedule.
func TestPhoneManage(t *testing.T) {
	h := startHearth(t, hearthOptions{})
	photo := filepath.Join(t.TempDir(), "beach.jpg")
	if err := os.WriteFile(photo, jpegBytes(t), 0o644); err != nil {
		t.Fatal(err)
	}
	b := browsertest.Start(t)
	p := b.NewPage(t, browsertest.Phone)
	p.Navigate(t, h.URL+"/#channels")
	p.WaitFor(t, `document.querySelector("#ch-mine li.muted") !== null`)
	p.Click(t, "#ch-new")
	p.Type(t, "Family photos")
	p.Click(t, "form:has(#ch-new) button[type=submit]")
	p.WaitFor(t, `document.querySelector('#ch-mine input[id^="ch-items-"]')?.offsetParent != null`)
	p.Click(t, `#ch-mine input[id^="ch-items-"]`)
	p.Type(t, photo)
	p.Click(t, `#ch-mine form button[type=submit]`)
	p.WaitFor(t, `document.querySelector("#ch-mine .meta")?.textContent.includes("changes not published")`)
	p.Click(t, `button[aria-label="Publish Family photos"]`)
	p.WaitFor(t, `document.querySelector("#ch-mine .meta")?.textContent.startsWith("version 1 · 1 items")`)
	if chs := h.Channels.Channels(); len(chs) != 1 || chs[0].Version != 1 || chs[0].Items != 1 {
		t.Fatalf("channels after publish = %+v, want one at version 1 with 1 item", chs)
	}
	p.Screenshot(t, "channel-published")
	checkPage(t, p, "channels")

	p.Click(t, `button[aria-label="Share Family photos as a web page"]`)
	p.WaitFor(t, `location.hash === "#shares" && document.querySelector("#sh-list .name")?.textContent === "Family photos"`)
	p.Click(t, `button[aria-label="QR code of Family photos"]`)
	p.WaitFor(t, `document.querySelector("img.qr")?.naturalWidth > 0`)
	p.Screenshot(t, "share-qr")
	checkPage(t, p, "shares")
	p.Click(t, `button[aria-label="Revoke Family photos"]`)
	p.WaitFor(t, `document.querySelector("dialog[open] #dlg-ok") !== null`)
	p.Click(t, "dialog[open] #dlg-ok")
	p.WaitFor(t, `document.querySelector("#sh-list .meta")?.textContent.startsWith("revoked")`)
	shares, err := h.Shares.List()
	if err != nil || len(shares) != 1 || shares[0].RevokedAt.IsZero() {
		t.Errorf("shares after revoke = %+v (err %v), want one, revoked", shares, err)
	}

	p.Eval(t, `location.hash = "#settings"`, nil)
	p.WaitFor(t, `document.querySelector("#set-save") !== null`)
	// The screen's other parts (pairing requests, devices, about) load on
	// their own and move the form down when they arrive: wait for them, or
	// a click aimed at the form lands on whatever moved under it.
	p.WaitFor(t, `document.querySelector("#set-pairs li") && document.querySelector("#set-devices li") && document.querySelector("#set-about").children.length > 0`)
	p.Eval(t, `document.querySelector("#set-down").value = ""`, nil)
	p.Click(t, "#set-down")
	p.Type(t, "250")
	p.Click(t, "#set-sched")
	p.WaitFor(t, `document.querySelector("#set-down").value === "250" && document.querySelector("#set-sched").checked`)
	p.Click(t, "#set-save")
	p.WaitFor(t, `document.querySelector("#toast").textContent === "Saved"`)
	if s := h.Engine.Settings(); s.DownloadKBps != 250 || !s.AltScheduled {
		t.Errorf("settings after Save: download %d kB/s, scheduled %v; want 250, true", s.DownloadKBps, s.AltScheduled)
	}
	checkPage(t, p, "settings")
}

// waitShow is WaitFor that, when cond stays false, fails with what the
// page shows (show, a JavaScript string) and what the daemon says.
func waitShow(t *testing.T, p *browsertest.Page, cond, show string, daemon func() string) {
	t.Helper()
	deadline := time.Now().Add(browsertest.Timeout)
	for {
		var ok bool
		if err := p.TryEval(cond, &ok); err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			var shown string
			p.TryEval(show, &shown)
			t.Fatalf("wait for %s: still false after %v; page: %s; daemon: %s", cond, browsertest.Timeout, shown, daemon())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPhoneFollow: following another device's channel by its link: the
// subscription arrives with a new-items badge (on the tab too), its
// photos browse in the library, "Mark seen" clears the badges, and
// Unsubscribe ends it.
func TestPhoneFollow(t *testing.T) {
	pub := enginetest.StartNode(t, enginetest.NodeOptions{})
	pm := startChannels(t, pub.Engine, nil)
	publish(t, pm, "Holiday", writePhotos(t, 1, color.RGBA{230, 160, 30, 255}, color.RGBA{120, 40, 160, 255}))
	link, err := pm.Link("Holiday")
	if err != nil {
		t.Fatal(err)
	}
	h := startHearth(t, hearthOptions{ChannelLAN: lanFunc(func(context.Context, [20]byte) ([]mutable.Item, []string, error) {
		return pm.Held(), []string{pub.PeerAddr()}, nil
	})})

	b := browsertest.Start(t)
	p := b.NewPage(t, browsertest.Phone)
	p.Navigate(t, h.URL+"/#channels")
	p.WaitFor(t, `document.querySelector("#ch-subs li.muted") !== null`)
	p.Click(t, "#ch-link")
	p.Type(t, link)
	p.Click(t, "form:has(#ch-link) button[type=submit]")
	p.WaitFor(t, `document.querySelector("#ch-subs .name")?.textContent === "Holiday"`)
	// The channels event brings the synced subscription: no reload.
	waitShow(t, p, `document.querySelector("#ch-subs .badge")?.textContent === "2" && document.querySelector("#tab-channels .badge")?.textContent === "2"`,
		`document.querySelector("#ch-subs").innerText + " | tab badge " + document.querySelector("#tab-channels .badge").textContent`,
		func() string { return fmt.Sprintf("%+v", h.Channels.Subscriptions()) })
	p.Screenshot(t, "followed")
	checkPage(t, p, "followed")

	p.Click(t, `a[aria-label="Browse Holiday"]`)
	p.WaitFor(t, `location.hash.startsWith("#library/photo?channel=") && document.querySelectorAll("#lib-items li").length === 2`)
	p.Screenshot(t, "channel-photos")
	checkPage(t, p, "channel photos")

	p.Eval(t, `location.hash = "#channels"`, nil)
	p.WaitFor(t, `document.querySelector('button[aria-label="Mark Holiday as seen"]') !== null`)
	p.Click(t, `button[aria-label="Mark Holiday as seen"]`)
	p.WaitFor(t, `document.querySelector("#ch-subs .badge") === null && document.querySelector("#tab-channels .badge").hidden`)
	p.Click(t, `button[aria-label="Unsubscribe from Holiday"]`)
	p.WaitFor(t, `document.querySelector("dialog[open] #dlg-ok") !== null`)
	p.Click(t, "dialog[open] #dlg-ok")
	p.WaitFor(t, `document.querySelector("#ch-subs li.muted")?.textContent === "Not following any channel."`)
	if subs := h.Channels.Subscriptions(); len(subs) != 0 {
		t.Errorf("subscriptions after Unsubscribe = %+v, want none", subs)
	}
	checkPage(t, p, "unsubscribed")
}

// TestPhonePollFallback: against a daemon without the event stream (an
// older one: /api/v1/events answers 404) the app polls the torrent list,
// once every 2 s, and still shows changes.
func TestPhonePollFallback(t *testing.T) {
	var polls atomic.Int64
	h := startHearth(t, hearthOptions{Wrap: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/api/v1/events":
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				io.WriteString(w, `{"error": "not found"}`)
				return
			case "/api/v1/torrents":
				if r.Method == "GET" {
					polls.Add(1)
				}
			}
			next.ServeHTTP(w, r)
		})
	}})
	b := browsertest.Start(t)
	p := b.NewPage(t, browsertest.Phone)
	p.Navigate(t, h.URL+"/")
	p.WaitFor(t, `document.querySelector(".empty")?.textContent.startsWith("No torrents yet")`)
	p.ClearErrors() // the 404 of /api/v1/events

	c := makeContent(t, "Later", 16<<10, map[string][]byte{"x.bin": randomBytes(40 << 10)})
	got, _, err := h.Engine.Add(context.Background(), engine.AddRequest{Metainfo: c.Metainfo, Dir: c.Dir})
	if err != nil {
		t.Fatal(err)
	}
	p.WaitFor(t, `document.querySelector(".torrent .st")?.textContent === "Seeding"`)
	if err := h.Engine.Pause(got.ID); err != nil {
		t.Fatal(err)
	}
	p.WaitFor(t, `document.querySelector(".torrent .st")?.textContent === "Paused"`)
	checkPage(t, p, "polling")

	before := polls.Load()
	time.Sleep(4100 * time.Millisecond)
	if n := polls.Load() - before; n < 1 || n > 3 {
		t.Errorf("%d polls of GET /api/v1/torrents in 4.1 s, want 2 (one every 2 s)", n)
	}
}
