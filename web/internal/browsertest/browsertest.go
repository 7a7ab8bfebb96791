// Package browsertest drives Debian's headless chromium from Go tests over
// the DevTools protocol, with nothing but the standard library: the browser
// talks through a pipe (--remote-debugging-pipe, NUL-separated JSON on
// file descriptors 3 and 4), so no websocket client is needed.
//
// Use:
//
//	b := browsertest.Start(t)                 // one headless chromium, killed at cleanup
//	p := b.NewPage(t, browsertest.Phone)      // a tab with a phone viewport
//	p.Navigate(t, srv.URL+"/")
//	p.WaitFor(t, `document.querySelectorAll(".torrent").length > 0`)
//	var n int
//	p.Eval(t, `document.images.length`, &n)
//	p.Click(t, "button#add")                  // a real mouse click at the element's centre
//	p.Key(t, "ArrowDown")                     // a real key press (ArrowUp/Down/Left/Right, Enter, Escape, Backspace, Tab, " ", MediaPlayPause)
//	p.Type(t, "magnet:?xt=…")                 // text into the focused element
//	p.Screenshot(t, "home")                   // PNG under ArtifactDir(t)
//	if bad := p.UnlabelledControls(t); len(bad) > 0 { … }
//	if errs := p.Errors(); len(errs) > 0 { … } // JS exceptions, console.error, CSP and network errors
//
// Every call fails the test (t.Fatal) on error, with the page's errors in
// the message, so tests read as a plain walk through the UI.
//
// The browser is started so that it makes no network traffic of its own
// (no component updates, sync, safe browsing, metrics), and hosts other
// than loopback and those passed to Start do not resolve; tests point it at 127.0.0.1 or at
// addresses in network namespaces they made. If chromium is missing the
// test fails with the command that installs it (make test installs it);
// it never skips. $HEARTH_CHROMIUM overrides the binary.
package browsertest

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Timeout bounds each wait (navigation, WaitFor, a protocol call).
var Timeout = 20 * time.Second

// Viewport is a page's size and kind.
type Viewport struct {
	Width, Height int
	Mobile        bool    // touch, mobile meta viewport honoured
	Scale         float64 // device pixel ratio; 0 means 1
}

// Common viewports.
var (
	Phone   = Viewport{Width: 390, Height: 844, Mobile: true, Scale: 2}
	Desktop = Viewport{Width: 1280, Height: 800}
	TV720   = Viewport{Width: 1280, Height: 720}
	TV1080  = Viewport{Width: 1920, Height: 1080}
)

// Browser is one headless chromium process.
type Browser struct {
	cmd  *exec.Cmd
	in   io.WriteCloser // our writes: the browser's fd 3
	out  io.ReadCloser  // our reads: the browser's fd 4
	wmu  sync.Mutex
	mu   sync.Mutex
	next int64
	wait map[int64]chan reply
	subs map[string][]chan event // sessionID+"|"+method → listeners
	errs map[string]*[]string    // sessionID → error lines
	done chan struct{}
	err  error // why the reader stopped
}

type reply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Data    string `json:"data"`
	} `json:"error"`
}

type event struct {
	Method    string          `json:"method"`
	Params    json.RawMessage `json:"params"`
	SessionID string          `json:"sessionId"`
}

// Binary returns the chromium to run, or an error saying how to get one.
func Binary() (string, error) {
	if p := os.Getenv("HEARTH_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("browsertest: no chromium on PATH: install it with `apt-get install -y --no-install-recommends chromium` (make test does) or set HEARTH_CHROMIUM")
}

// Start runs a headless chromium for the test; it is killed at cleanup.
// Only localhost, 127.0.0.1, [::1] and the extra hosts given (names or IP
// literals, e.g. an address in a network namespace the test made) are
// reachable; every other name fails to resolve.
func Start(t testing.TB, allowHosts ...string) *Browser {
	t.Helper()
	rules := "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]"
	for _, h := range allowHosts {
		rules += ", EXCLUDE " + h
	}
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	profile := t.TempDir()
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--remote-debugging-pipe", "--user-data-dir=" + profile,
		"--no-first-run", "--no-default-browser-check", "--disable-extensions",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-default-apps", "--no-pings", "--disable-domain-reliability",
		"--disable-client-side-phishing-detection", "--metrics-recording-only",
		"--disable-breakpad", "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,AutofillServerCommunication,InterestFeedContentSuggestions,CertificateTransparencyComponentUpdater",
		"--safebrowsing-disable-auto-update", "--password-store=basic", "--use-mock-keychain",
		"--host-resolver-rules=" + rules,
		"--autoplay-policy=no-user-gesture-required", "--mute-audio",
		"--hide-scrollbars", "--font-render-hinting=none",
		"about:blank",
	}
	cmd := exec.Command(bin, args...)
	toBrowser, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, fromBrowser, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.ExtraFiles = []*os.File{toBrowser, fromBrowser} // fd 3, fd 4
	var stderr lockedTail
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("browsertest: start %s: %v", bin, err)
	}
	toBrowser.Close()
	fromBrowser.Close()
	b := &Browser{
		cmd: cmd, in: inW, out: outR,
		wait: map[int64]chan reply{}, subs: map[string][]chan event{}, errs: map[string]*[]string{},
		done: make(chan struct{}),
	}
	go b.read()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		inW.Close()
		outR.Close()
		if t.Failed() {
			t.Logf("chromium stderr (tail):\n%s", stderr.String())
		}
	})
	// The browser answers once it is up.
	if _, err := b.call("", "Browser.getVersion", nil); err != nil {
		t.Fatalf("browsertest: chromium did not start: %v\n%s", err, stderr.String())
	}
	return b
}

func (b *Browser) read() {
	defer close(b.done)
	r := bufio.NewReaderSize(b.out, 1<<20)
	for {
		msg, err := r.ReadBytes(0)
		if err != nil {
			b.mu.Lock()
			b.err = fmt.Errorf("browsertest: chromium closed the pipe: %w", err)
			b.mu.Unlock()
			return
		}
		msg = msg[:len(msg)-1]
		var head struct {
			ID     int64  `json:"id"`
			Method string `json:"method"`
		}
		if json.Unmarshal(msg, &head) != nil {
			continue
		}
		if head.ID != 0 {
			var rep reply
			_ = json.Unmarshal(msg, &rep)
			b.mu.Lock()
			ch := b.wait[head.ID]
			delete(b.wait, head.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- rep
			}
			continue
		}
		var ev event
		if json.Unmarshal(msg, &ev) != nil {
			continue
		}
		b.record(ev)
		b.mu.Lock()
		for _, ch := range b.subs[ev.SessionID+"|"+ev.Method] {
			select {
			case ch <- ev:
			default:
			}
		}
		b.mu.Unlock()
	}
}

// record keeps the page's errors: exceptions, console.error, and log
// entries of level error (CSP violations, failed loads).
func (b *Browser) record(ev event) {
	var line string
	switch ev.Method {
	case "Runtime.exceptionThrown":
		var p struct {
			ExceptionDetails struct {
				Text      string `json:"text"`
				URL       string `json:"url"`
				Line      int    `json:"lineNumber"`
				Exception struct {
					Description string `json:"description"`
				} `json:"exception"`
			} `json:"exceptionDetails"`
		}
		_ = json.Unmarshal(ev.Params, &p)
		d := p.ExceptionDetails
		line = fmt.Sprintf("exception: %s %s (%s:%d)", d.Text, d.Exception.Description, d.URL, d.Line+1)
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string `json:"type"`
			Args []struct {
				Value       any    `json:"value"`
				Description string `json:"description"`
			} `json:"args"`
		}
		_ = json.Unmarshal(ev.Params, &p)
		if p.Type != "error" && p.Type != "assert" {
			return
		}
		var parts []string
		for _, a := range p.Args {
			if a.Value != nil {
				parts = append(parts, fmt.Sprint(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		line = "console." + p.Type + ": " + strings.Join(parts, " ")
	case "Log.entryAdded":
		var p struct {
			Entry struct {
				Level  string `json:"level"`
				Source string `json:"source"`
				Text   string `json:"text"`
				URL    string `json:"url"`
			} `json:"entry"`
		}
		_ = json.Unmarshal(ev.Params, &p)
		if p.Entry.Level != "error" {
			return
		}
		line = fmt.Sprintf("%s error: %s %s", p.Entry.Source, p.Entry.Text, p.Entry.URL)
	default:
		return
	}
	b.mu.Lock()
	if e := b.errs[ev.SessionID]; e != nil {
		*e = append(*e, line)
	}
	b.mu.Unlock()
}

func (b *Browser) call(session, method string, params any) (json.RawMessage, error) {
	b.mu.Lock()
	if b.err != nil {
		err := b.err
		b.mu.Unlock()
		return nil, err
	}
	b.next++
	id := b.next
	ch := make(chan reply, 1)
	b.wait[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	data, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	b.wmu.Lock()
	_, err = b.in.Write(append(data, 0))
	b.wmu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("browsertest: send %s: %w", method, err)
	}
	select {
	case rep := <-ch:
		if rep.Error != nil {
			return nil, fmt.Errorf("browsertest: %s: %s %s", method, rep.Error.Message, rep.Error.Data)
		}
		return rep.Result, nil
	case <-b.done:
		return nil, b.err
	case <-time.After(Timeout):
		b.mu.Lock()
		delete(b.wait, id)
		b.mu.Unlock()
		return nil, fmt.Errorf("browsertest: %s: no answer in %s", method, Timeout)
	}
}

func (b *Browser) subscribe(session, method string) (<-chan event, func()) {
	ch := make(chan event, 64)
	key := session + "|" + method
	b.mu.Lock()
	b.subs[key] = append(b.subs[key], ch)
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		list := b.subs[key]
		for i, c := range list {
			if c == ch {
				b.subs[key] = append(list[:i], list[i+1:]...)
				break
			}
		}
	}
}

// Page is one tab.
type Page struct {
	b       *Browser
	session string
	target  string
	errs    *[]string
}

// NewPage opens a tab with the viewport; it is closed at cleanup.
func (b *Browser) NewPage(t testing.TB, vp Viewport) *Page {
	t.Helper()
	res, err := b.call("", "Target.createTarget", map[string]any{"url": "about:blank"})
	if err != nil {
		t.Fatal(err)
	}
	var tgt struct {
		TargetID string `json:"targetId"`
	}
	_ = json.Unmarshal(res, &tgt)
	res, err = b.call("", "Target.attachToTarget", map[string]any{"targetId": tgt.TargetID, "flatten": true})
	if err != nil {
		t.Fatal(err)
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	_ = json.Unmarshal(res, &att)
	p := &Page{b: b, session: att.SessionID, target: tgt.TargetID, errs: new([]string)}
	b.mu.Lock()
	b.errs[p.session] = p.errs
	b.mu.Unlock()
	for _, m := range []string{"Page.enable", "Runtime.enable", "Log.enable", "Network.enable"} {
		p.do(t, m, nil)
	}
	scale := vp.Scale
	if scale == 0 {
		scale = 1
	}
	p.do(t, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": vp.Width, "height": vp.Height, "deviceScaleFactor": scale, "mobile": vp.Mobile,
	})
	if vp.Mobile {
		p.do(t, "Emulation.setTouchEmulationEnabled", map[string]any{"enabled": true, "maxTouchPoints": 5})
	}
	t.Cleanup(func() { _, _ = b.call("", "Target.closeTarget", map[string]any{"targetId": p.target}) })
	return p
}

func (p *Page) do(t testing.TB, method string, params any) json.RawMessage {
	t.Helper()
	res, err := p.b.call(p.session, method, params)
	if err != nil {
		t.Fatalf("%v%s", err, p.errorSuffix())
	}
	return res
}

// Call sends any DevTools command to the page and returns its result,
// for what the helpers below do not cover.
func (p *Page) Call(t testing.TB, method string, params any) json.RawMessage {
	t.Helper()
	return p.do(t, method, params)
}

func (p *Page) errorSuffix() string {
	errs := p.Errors()
	if len(errs) == 0 {
		return ""
	}
	return "\npage errors:\n  " + strings.Join(errs, "\n  ")
}

// Errors returns the page's errors so far: JS exceptions, console.error,
// and browser log errors (CSP violations, failed requests).
func (p *Page) Errors() []string {
	p.b.mu.Lock()
	defer p.b.mu.Unlock()
	return append([]string(nil), *p.errs...)
}

// ClearErrors forgets the errors seen so far (e.g. an expected 401).
func (p *Page) ClearErrors() {
	p.b.mu.Lock()
	*p.errs = nil
	p.b.mu.Unlock()
}

// Navigate loads url and waits for its load event.
func (p *Page) Navigate(t testing.TB, url string) {
	t.Helper()
	loaded, stop := p.b.subscribe(p.session, "Page.loadEventFired")
	defer stop()
	res := p.do(t, "Page.navigate", map[string]any{"url": url})
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	_ = json.Unmarshal(res, &nav)
	if nav.ErrorText != "" {
		t.Fatalf("navigate %s: %s%s", url, nav.ErrorText, p.errorSuffix())
	}
	select {
	case <-loaded:
	case <-time.After(Timeout):
		t.Fatalf("navigate %s: no load event in %s%s", url, Timeout, p.errorSuffix())
	}
}

// Eval runs a JavaScript expression (a Promise is awaited) and stores its
// JSON value in out (which may be nil).
func (p *Page) Eval(t testing.TB, js string, out any) {
	t.Helper()
	if err := p.TryEval(js, out); err != nil {
		t.Fatalf("%v%s", err, p.errorSuffix())
	}
}

// TryEval is Eval returning the error instead of failing the test.
func (p *Page) TryEval(js string, out any) error {
	res, err := p.b.call(p.session, "Runtime.evaluate", map[string]any{
		"expression": js, "returnByValue": true, "awaitPromise": true, "userGesture": true,
	})
	if err != nil {
		return err
	}
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return fmt.Errorf("eval %q: %w", js, err)
	}
	if r.ExceptionDetails != nil {
		return fmt.Errorf("eval %q: %s %s", js, r.ExceptionDetails.Text, r.ExceptionDetails.Exception.Description)
	}
	if out == nil || len(r.Result.Value) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.Result.Value, out); err != nil {
		return fmt.Errorf("eval %q: result %s: %w", js, r.Result.Value, err)
	}
	return nil
}

// WaitFor polls the JavaScript condition until it is truthy, failing the
// test after Timeout.
func (p *Page) WaitFor(t testing.TB, cond string) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		var ok bool
		lastErr = p.TryEval("!!("+cond+")", &ok)
		if lastErr == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("wait for %s: still false after %s (last error: %v)%s", cond, Timeout, lastErr, p.errorSuffix())
}

// Click clicks the centre of the first element matching the CSS selector
// with real mouse events, after scrolling it into view. It waits until the
// element holds still for two animation frames and is what the browser
// finds at that point (nothing moved over it, no layout shift under way),
// so a click is not lost to content that loads a moment later.
func (p *Page) Click(t testing.TB, selector string) {
	t.Helper()
	type box struct {
		X, Y       float64
		Found, Hit bool
	}
	sel, _ := json.Marshal(selector)
	js := fmt.Sprintf(`(async () => { const e = document.querySelector(%s); if (!e) return {Found:false};
		e.scrollIntoView({block:"center", inline:"center"});
		const frame = () => new Promise(r => requestAnimationFrame(() => r()));
		let r = e.getBoundingClientRect();
		for (let i = 0; i < 20; i++) {
			await frame(); await frame();
			const r2 = e.getBoundingClientRect();
			if (r2.left === r.left && r2.top === r.top && r2.width === r.width && r2.height === r.height) break;
			r = r2;
		}
		const x = r.left + r.width/2, y = r.top + r.height/2;
		const at = document.elementFromPoint(x, y);
		return {X: x, Y: y, Found: true, Hit: !!at && (at === e || e.contains(at) || (e.labels && [...e.labels].some(l => l.contains(at))))}; })()`, sel)
	deadline := time.Now().Add(Timeout)
	var b box
	for {
		p.Eval(t, js, &b)
		if !b.Found {
			t.Fatalf("click %s: no such element%s", selector, p.errorSuffix())
		}
		if b.Hit || time.Now().After(deadline) {
			break // not hit at the deadline: click anyway, as a user would
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, typ := range []string{"mouseMoved", "mousePressed", "mouseReleased"} {
		p.do(t, "Input.dispatchMouseEvent", map[string]any{
			"type": typ, "x": b.X, "y": b.Y, "button": "left", "clickCount": 1,
		})
	}
}

type keyDef struct {
	code string
	vk   int
	text string
}

var keys = map[string]keyDef{
	"ArrowUp": {"ArrowUp", 38, ""}, "ArrowDown": {"ArrowDown", 40, ""},
	"ArrowLeft": {"ArrowLeft", 37, ""}, "ArrowRight": {"ArrowRight", 39, ""},
	"Enter": {"Enter", 13, "\r"}, "Escape": {"Escape", 27, ""}, "Backspace": {"Backspace", 8, ""},
	"Tab": {"Tab", 9, ""}, " ": {"Space", 32, " "}, "Home": {"Home", 36, ""}, "End": {"End", 35, ""},
	"PageUp": {"PageUp", 33, ""}, "PageDown": {"PageDown", 34, ""},
	"MediaPlayPause": {"MediaPlayPause", 179, ""}, "MediaStop": {"MediaStop", 178, ""},
	"MediaTrackNext": {"MediaTrackNext", 176, ""}, "MediaTrackPrevious": {"MediaTrackPrevious", 177, ""},
	"MediaFastForward": {"MediaFastForward", 0, ""}, "MediaRewind": {"MediaRewind", 0, ""},
	"BrowserBack": {"BrowserBack", 166, ""},
}

// Key presses and releases one key, named as KeyboardEvent.key names it:
// ArrowUp, ArrowDown, ArrowLeft, ArrowRight, Enter, Escape, Backspace,
// Tab, " ", Home, End, PageUp, PageDown, MediaPlayPause, MediaStop,
// MediaTrackNext, MediaTrackPrevious, MediaFastForward, MediaRewind,
// BrowserBack, or a single printable character.
func (p *Page) Key(t testing.TB, key string) {
	t.Helper()
	k, ok := keys[key]
	if !ok {
		if len([]rune(key)) != 1 {
			t.Fatalf("browsertest: unknown key %q", key)
		}
		k = keyDef{text: key}
		if r := []rune(strings.ToUpper(key))[0]; r >= 'A' && r <= 'Z' {
			k.code, k.vk = "Key"+string(r), int(r)
		} else if r >= '0' && r <= '9' {
			k.code, k.vk = "Digit"+string(r), int(r)
		}
	}
	down := map[string]any{"type": "rawKeyDown", "key": key, "code": k.code, "windowsVirtualKeyCode": k.vk, "nativeVirtualKeyCode": k.vk}
	if k.text != "" {
		down["type"] = "keyDown"
		down["text"] = k.text
		down["unmodifiedText"] = k.text
	}
	p.do(t, "Input.dispatchKeyEvent", down)
	p.do(t, "Input.dispatchKeyEvent", map[string]any{"type": "keyUp", "key": key, "code": k.code, "windowsVirtualKeyCode": k.vk, "nativeVirtualKeyCode": k.vk})
}

// Type inserts text into the focused element as typing would.
func (p *Page) Type(t testing.TB, text string) {
	t.Helper()
	p.do(t, "Input.insertText", map[string]any{"text": text})
}

// SetHeaders sends extra HTTP headers with every request of the page
// (e.g. Authorization).
func (p *Page) SetHeaders(t testing.TB, h map[string]string) {
	t.Helper()
	p.do(t, "Network.setExtraHTTPHeaders", map[string]any{"headers": h})
}

// Screenshot saves a PNG of the viewport as ArtifactDir(t)/name.png and
// returns its path.
func (p *Page) Screenshot(t testing.TB, name string) string {
	t.Helper()
	res := p.do(t, "Page.captureScreenshot", map[string]any{"format": "png"})
	var shot struct {
		Data string `json:"data"`
	}
	_ = json.Unmarshal(res, &shot)
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(ArtifactDir(t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	t.Logf("screenshot %s", path)
	return path
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// ArtifactDir is where a test's screenshots go:
// $HEARTH_ARTIFACTS/<test name>/, by default under the system temp dir
// (hearth-artifacts/). It is kept after the test.
func ArtifactDir(t testing.TB) string {
	root := os.Getenv("HEARTH_ARTIFACTS")
	if root == "" {
		root = filepath.Join(os.TempDir(), "hearth-artifacts")
	}
	dir := filepath.Join(root, unsafeName.ReplaceAllString(t.Name(), "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("artifacts: %v", err)
	}
	return dir
}

// Control is an interactive element as the accessibility tree sees it.
type Control struct {
	Role string `json:"role"`
	Name string `json:"name"`
	HTML string `json:"html"` // the start of its outer HTML, to find it
}

// interactive roles that must carry a name.
var interactive = map[string]bool{
	"button": true, "link": true, "textbox": true, "searchbox": true, "combobox": true,
	"checkbox": true, "radio": true, "slider": true, "spinbutton": true, "switch": true,
	"menuitem": true, "tab": true, "option": true, "listbox": true, "menuitemcheckbox": true,
	"menuitemradio": true, "treeitem": true,
}

// Controls returns the page's visible interactive elements with their
// computed accessible names (Chromium's accessibility tree).
func (p *Page) Controls(t testing.TB) []Control {
	t.Helper()
	res := p.do(t, "Accessibility.getFullAXTree", map[string]any{})
	var tree struct {
		Nodes []struct {
			Ignored bool `json:"ignored"`
			Role    struct {
				Value string `json:"value"`
			} `json:"role"`
			Name *struct {
				Value string `json:"value"`
			} `json:"name"`
			BackendDOMNodeID int `json:"backendDOMNodeId"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal(res, &tree); err != nil {
		t.Fatalf("accessibility tree: %v", err)
	}
	var out []Control
	for _, n := range tree.Nodes {
		if n.Ignored || !interactive[n.Role.Value] {
			continue
		}
		c := Control{Role: n.Role.Value}
		if n.Name != nil {
			c.Name = strings.TrimSpace(n.Name.Value)
		}
		if n.BackendDOMNodeID != 0 {
			if r, err := p.b.call(p.session, "DOM.getOuterHTML", map[string]any{"backendNodeId": n.BackendDOMNodeID}); err == nil {
				var h struct {
					OuterHTML string `json:"outerHTML"`
				}
				_ = json.Unmarshal(r, &h)
				c.HTML = h.OuterHTML
				if len(c.HTML) > 160 {
					c.HTML = c.HTML[:160] + "…"
				}
			}
		}
		out = append(out, c)
	}
	return out
}

// UnlabelledControls returns the interactive elements that have no
// accessible name — each is a control a screen reader cannot announce.
func (p *Page) UnlabelledControls(t testing.TB) []Control {
	t.Helper()
	var bad []Control
	for _, c := range p.Controls(t) {
		if c.Name == "" {
			bad = append(bad, c)
		}
	}
	return bad
}

// lockedTail keeps the last 16 KiB written to it.
type lockedTail struct {
	mu  sync.Mutex
	buf []byte
}

func (l *lockedTail) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, b...)
	if len(l.buf) > 16<<10 {
		l.buf = l.buf[len(l.buf)-16<<10:]
	}
	return len(b), nil
}

func (l *lockedTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.buf)
}
