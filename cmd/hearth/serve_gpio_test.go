package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/gpio/gpiotest"

	devgpio "github.com/hearth-media/hearth/device/gpio"
	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/engine/enginetest/netns"
	"github.com/hearth-media/hearth/web/access"
)

// The GPIO tests register fake pins (periph's gpiotest) in periph's pin
// registry under names of their own and name them in the gpio config
// section: the daemon finds them exactly as it finds a board's pins
// after host.Init. Nothing in the hearth binary knows about them.

// shortTiming makes presses quick; device/gpio tests the real lengths.
var shortTiming = devgpio.Timing{Debounce: 10 * time.Millisecond, Long: 300 * time.Millisecond,
	VeryLong: time.Second, Confirm: time.Second, Max: 3 * time.Second}

var pinSeq atomic.Int64

// fakeBoard is a button and a status LED registered in gpioreg.
type fakeBoard struct {
	t          *testing.T
	btn        *gpiotest.Pin // active low
	led        *recPin       // active high
	btnN, ledN string
}

func newFakeBoard(t *testing.T) *fakeBoard {
	t.Helper()
	n := pinSeq.Add(1)
	b := &fakeBoard{t: t, btnN: fmt.Sprintf("TEST_BTN_%d", n), ledN: fmt.Sprintf("TEST_LED_%d", n)}
	b.btn = &gpiotest.Pin{N: b.btnN, Num: int(1000 + 2*n), EdgesChan: make(chan gpio.Level)}
	b.led = &recPin{Pin: &gpiotest.Pin{N: b.ledN, Num: int(1001 + 2*n)}}
	for _, p := range []gpio.PinIO{b.btn, b.led} {
		if err := gpioreg.Register(p); err != nil {
			t.Fatal(err)
		}
		name := p.Name()
		t.Cleanup(func() { gpioreg.Unregister(name) })
	}
	old := buttonTiming
	buttonTiming = shortTiming
	t.Cleanup(func() { buttonTiming = old })
	return b
}

// press holds the button for d. The edge channel is unbuffered: each
// send waits for the button's goroutine to take it.
func (b *fakeBoard) press(d time.Duration) {
	b.btn.EdgesChan <- gpio.Low
	time.Sleep(d)
	b.btn.EdgesChan <- gpio.High
	time.Sleep(3 * shortTiming.Debounce) // the release is debounced before it acts
}

// recPin is an LED pin that remembers when its level changed.
type recPin struct {
	*gpiotest.Pin
	mu      sync.Mutex
	changes []levelChange
}

type levelChange struct {
	at time.Time
	l  gpio.Level
}

func (p *recPin) Out(l gpio.Level) error {
	p.mu.Lock()
	if n := len(p.changes); n == 0 || p.changes[n-1].l != l {
		p.changes = append(p.changes, levelChange{time.Now(), l})
	}
	p.mu.Unlock()
	return p.Pin.Out(l)
}

func (p *recPin) level() gpio.Level {
	p.Lock()
	defer p.Unlock()
	return p.L
}

// watch reads the pattern an active-high LED shows from its level
// changes over 3.5 s: long enough for every pattern to show each of its
// phases whole (the longest cycle is 2 s). The tolerances allow a loaded
// machine (-race, two cores) tens of milliseconds of lateness.
func (p *recPin) watch() string {
	start := time.Now()
	time.Sleep(3500 * time.Millisecond)
	p.mu.Lock()
	var ch []levelChange
	for _, c := range p.changes {
		if c.at.After(start) {
			ch = append(ch, c)
		}
	}
	p.mu.Unlock()
	if len(ch) == 0 {
		if p.level() == gpio.High {
			return "steady"
		}
		return "off"
	}
	// The median lit phase tells slow (1 s) from the short flashes, so one
	// phase stretched by a starved scheduler (load average 20 on two
	// cores) does not turn a double flash into slow; a dark phase of 1 s
	// or more among short flashes is the double flash's pause.
	var lit []time.Duration
	var maxDark time.Duration
	for i := 1; i < len(ch); i++ {
		d := ch[i].at.Sub(ch[i-1].at)
		if ch[i-1].l == gpio.High {
			lit = append(lit, d)
		} else {
			maxDark = max(maxDark, d)
		}
	}
	if len(lit) == 0 {
		return "off"
	}
	slices.Sort(lit)
	medLit := lit[len(lit)/2]
	switch {
	case medLit >= 600*time.Millisecond:
		return "slow"
	case maxDark >= time.Second:
		return "double"
	case medLit >= 150*time.Millisecond:
		return "fast"
	default:
		return "rapid"
	}
}

func magnet() string {
	b := make([]byte, 20)
	rand.Read(b)
	return "magnet:?xt=urn:btih:" + hex.EncodeToString(b)
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestGPIODaemon runs the daemon's GPIO glue with a real engine and a real
// access controller on a temporary store, and fake pins.
func TestGPIODaemon(t *testing.T) {
	board := newFakeBoard(t)
	node := enginetest.StartNode(t, enginetest.NodeOptions{})
	ac, err := access.New(access.Options{Store: node.Store, Pairing: true, KDF: access.KDFParams{Time: 1, MemKiB: 64, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := node.Config.Clone()
	cfg.GPIO.Button, cfg.GPIO.ButtonActiveLow, cfg.GPIO.LEDStatus = board.btnN, true, board.ledN
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	g, err := startGPIO(ctx, cfg, node.Engine, ac, node.Store, log)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("log:\n%s", logs.String())
		}
	}()
	defer g.close()
	status := g.dev.Status()
	showing := func(want devgpio.Pattern, after string) {
		t.Helper()
		waitFor(t, fmt.Sprintf("the LED to show %s %s (it shows %s)", want, after, status.Pattern()), func() bool { return status.Pattern() == want })
	}
	showing(devgpio.Slow, "when idle")

	// Short presses: pause everything running, then resume just that.
	e := node.Engine
	var ids []int64
	for range 3 {
		tr, _, err := e.Add(context.Background(), engine.AddRequest{Magnet: magnet()})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tr.ID)
	}
	if err := e.Pause(ids[2]); err != nil { // the owner's
		t.Fatal(err)
	}
	states := func() []engine.State {
		var s []engine.State
		for _, id := range ids {
			tr, err := e.Get(fmt.Sprint(id))
			if err != nil {
				t.Fatal(err)
			}
			s = append(s, tr.State)
		}
		return s
	}
	stopped := engine.StateStopped
	board.press(50 * time.Millisecond)
	waitFor(t, "a short press to pause both running torrents", func() bool {
		return slices.Equal(states(), []engine.State{stopped, stopped, stopped})
	})
	board.press(50 * time.Millisecond)
	waitFor(t, "the next short press to resume the two it paused", func() bool {
		s := states()
		return s[0] != stopped && s[1] != stopped && s[2] == stopped
	})
	// What a press paused survives a restart of the daemon.
	board.press(50 * time.Millisecond)
	waitFor(t, "a short press to pause again", func() bool { return states()[0] == stopped && states()[1] == stopped })
	g.close()
	if g, err = startGPIO(ctx, cfg, node.Engine, ac, node.Store, log); err != nil {
		t.Fatal(err)
	}
	status = g.dev.Status()
	board.press(50 * time.Millisecond)
	waitFor(t, "a short press after a restart to resume what the last one paused", func() bool {
		s := states()
		return s[0] != stopped && s[1] != stopped && s[2] == stopped
	})

	// Long press: pairing opens; the first phone that asks is accepted.
	board.press(500 * time.Millisecond)
	if !ac.PairingWindowOpen() {
		t.Fatal("a long press did not open pairing")
	}
	showing(devgpio.Double, "while pairing is open")
	phone := netip.MustParseAddr("192.168.1.31")
	tk, err := ac.RequestPairing(phone, "Anna's phone")
	if err != nil {
		t.Fatal(err)
	}
	dev, tok, err := ac.CompletePairing(phone, tk.ID, tk.Secret, "")
	if err != nil || !access.LooksLikeToken(tok) {
		t.Fatalf("pairing in the button's window = %v, %v; want a token without a code", dev, err)
	}
	showing(devgpio.Slow, "once the phone paired (the window closes)")

	// A torrent stopped by an error: steady, but pairing goes first.
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	bad, _, err := e.Add(context.Background(), engine.AddRequest{Magnet: magnet(), Dir: filepath.Join(file, "sub")})
	if err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, e, fmt.Sprint(bad.ID), 10*time.Second, "error", func(tr engine.Torrent) bool { return tr.State == engine.StateError })
	g.kick() // errors are looked for every problemEvery, and at once when kicked
	showing(devgpio.Steady, "with a torrent in error")
	board.press(500 * time.Millisecond)
	showing(devgpio.Double, "while pairing is open, even with an error")
	ac.ClosePairingWindow()
	showing(devgpio.Steady, "once the window closed")
	// A short press leaves a torrent in error alone.
	board.press(50 * time.Millisecond)
	waitFor(t, "a short press to pause", func() bool { return states()[0] == stopped })
	if tr, _ := e.Get(fmt.Sprint(bad.ID)); tr.State != engine.StateError {
		t.Errorf("torrent in error after a short press: %s, want still error", tr.State)
	}
	if err := e.Remove(bad.ID, false); err != nil {
		t.Fatal(err)
	}
	g.kick()
	showing(devgpio.Slow, "once the torrent in error is gone")

	// Very long press, then nothing: the reset is cancelled, nothing changes.
	if err := ac.SetPassword(context.Background(), "admin", "s3cret pass"); err != nil {
		t.Fatal(err)
	}
	board.press(1200 * time.Millisecond)
	showing(devgpio.Rapid, "while a reset waits for its confirmation")
	showing(devgpio.Slow, "once the confirmation did not come")
	if st := ac.Status(); !st.PasswordSet || st.Devices != 1 {
		t.Errorf("after a cancelled reset: %+v, want the password and the device kept", st)
	}

	// Very long press and a confirming short one: access is reset, the data is not.
	other := netip.MustParseAddr("192.168.1.77")
	if _, err := ac.RequestPairing(other, "someone"); err != nil {
		t.Fatal(err)
	}
	before := e.List()
	board.press(1200 * time.Millisecond)
	board.press(50 * time.Millisecond)
	waitFor(t, "the reset", func() bool { return ac.Status().Devices == 0 })
	st := ac.Status()
	if st.PasswordSet || st.Pending != 0 || st.WindowUntil.IsZero() {
		t.Errorf("after the reset: %+v, want no password, no pending request, pairing open", st)
	}
	if _, err := ac.Authenticate(context.Background(), phone, access.Credentials{Token: tok}); err == nil {
		t.Error("the phone's token still works after the reset")
	}
	if after := e.List(); len(after) != len(before) {
		t.Errorf("%d torrents after the reset, want %d: the reset must not touch data", len(after), len(before))
	}
	showing(devgpio.Double, "after the reset (pairing reopened)")
	if !strings.Contains(logs.String(), "paired devices revoked, password removed") {
		t.Errorf("the log does not say what the reset did:\n%s", logs.String())
	}

	// Stopping: the LED goes off.
	cancel()
	g.close()
	if board.led.level() != gpio.Low {
		t.Error("the status LED is lit after the daemon stopped")
	}
}

func TestPatterns(t *testing.T) {
	tests := []struct {
		s          ledState
		one        devgpio.Pattern
		two1, two2 devgpio.Pattern
	}{
		{ledState{}, devgpio.Slow, devgpio.Slow, devgpio.Off},
		{ledState{busy: true}, devgpio.Fast, devgpio.Fast, devgpio.Off},
		{ledState{problem: true, busy: true}, devgpio.Steady, devgpio.Fast, devgpio.Steady},
		{ledState{pairing: true, problem: true}, devgpio.Double, devgpio.Slow, devgpio.Double},
		{ledState{armed: true, pairing: true, problem: true, busy: true}, devgpio.Rapid, devgpio.Fast, devgpio.Rapid},
		{ledState{stopping: true, armed: true, busy: true}, devgpio.Off, devgpio.Off, devgpio.Off},
	}
	for _, tt := range tests {
		if got, _ := patterns(tt.s, false); got != tt.one {
			t.Errorf("patterns(%+v, one LED) = %s, want %s", tt.s, got, tt.one)
		}
		if a, b := patterns(tt.s, true); a != tt.two1 || b != tt.two2 {
			t.Errorf("patterns(%+v, two LEDs) = %s, %s, want %s, %s", tt.s, a, b, tt.two1, tt.two2)
		}
	}
}

func TestStartGPIOConfig(t *testing.T) {
	node := enginetest.StartNode(t, enginetest.NodeOptions{})
	ac, err := access.New(access.Options{Store: node.Store})
	if err != nil {
		t.Fatal(err)
	}
	start := func(button, led string) (*gpioDaemon, string, error) {
		var logs bytes.Buffer
		cfg := node.Config.Clone()
		cfg.GPIO.Button, cfg.GPIO.LEDStatus = button, led
		g, err := startGPIO(context.Background(), cfg, node.Engine, ac, node.Store, slog.New(slog.NewTextHandler(&logs, nil)))
		if g != nil {
			g.close()
		}
		return g, logs.String(), err
	}
	if g, logs, err := start("", ""); err != nil || g.dev != nil || strings.Count(logs, "\n") != 1 || !strings.Contains(logs, "level=INFO msg=\"gpio off: no button or LEDs\" component=gpio why=\"gpio: no GPIO: no pins configured") {
		t.Errorf("no pins: %v, log %q; want off with one info line", err, logs)
	}
	if len(gpioreg.All()) == 0 {
		if g, logs, err := start("GPIO17", ""); err != nil || g.dev != nil || strings.Count(logs, "\n") != 1 || !strings.Contains(logs, "level=WARN") {
			t.Errorf("a pin on a machine without GPIO: %v, log %q; want off with one warning", err, logs)
		}
	}
	board := newFakeBoard(t)
	if _, _, err := start(board.btnN, "GPIO99"); err == nil || !strings.HasPrefix(err.Error(), `config: gpio.led_status: no GPIO pin "GPIO99" on this machine (it has `) || !strings.Contains(err.Error(), board.ledN) {
		t.Errorf("unknown LED pin: %v, want an error naming gpio.led_status", err)
	}
}

// TestButtonPairsPhone is the issue's "pairing opened by the (fake)
// button lets that second host pair": the real "hearth serve" runs in
// this process (the fake pins live in this process's pin registry) with
// its sockets in network namespace "device"; the phone is the hearth
// binary's "pair --request" in namespace "phone", on the other end of a
// veth pair. The LED's pin is watched throughout.
func TestButtonPairsPhone(t *testing.T) {
	netns.Require(t)
	board := newFakeBoard(t)
	devNS, phNS := netns.New(t, "device"), netns.New(t, "phone")
	devAddr, _ := netns.Link(t, devNS, phNS, "")
	port := freePortIn(t, devNS)
	base := fmt.Sprintf("http://%s:%d", devAddr, port)
	dir := t.TempDir()
	conf := filepath.Join(dir, "hearth.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, `listen = ":%d"
[torrent]
peer_port = 0
dht = off
port_forwarding = off
ipv6 = off
[device]
mdns = off
[channels]
lan = off
[gpio]
button = %q
button_active_low = yes
led_status = %q
`, port, board.btnN, board.ledN), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, kv := range os.Environ() { // this test's config is the file's
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "HEARTH_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs lockedBuffer
	exited := make(chan int, 1)
	go devNS.Run(func() error {
		exited <- run(ctx, []string{"serve", "--config", conf, "--data-dir", filepath.Join(dir, "data")}, strings.NewReader(""), &logs, &logs)
		return nil
	})
	defer func() {
		cancel()
		<-exited
		if t.Failed() {
			t.Logf("daemon log:\n%s", logs.String())
		}
	}()
	phone := &http.Client{Transport: &http.Transport{DialContext: phNS.DialContext, DisableKeepAlives: true}, Timeout: 5 * time.Second}
	get := func(token string) int {
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/torrents", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := phone.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor(t, "hearth serve to answer the phone", func() bool { return get("") == http.StatusUnauthorized })
	if !strings.Contains(logs.String(), "gpio on") {
		t.Errorf("the daemon did not say it uses the button and LED:\n%s", logs.String())
	}
	if got := board.led.watch(); got != "slow" {
		t.Errorf("idle daemon: the status LED shows %s, want slow", got)
	}

	board.press(500 * time.Millisecond) // long
	if got := board.led.watch(); got != "double" {
		t.Errorf("after a long press: the status LED shows %s, want double (pairing open)", got)
	}
	cmd := phNS.Command(ctx, hearthBinary(t), "pair", "--request", "Anna's phone", "--api", base, "--wait", "30s")
	cmd.Env = daemonEnv(dir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("hearth pair --request from the phone: %v\n%s", err, errb.String())
	}
	tok := strings.TrimSpace(out.String())
	if !access.LooksLikeToken(tok) {
		t.Fatalf("hearth pair --request printed %q, want a token\n%s", tok, errb.String())
	}
	if code := get(tok); code != http.StatusOK {
		t.Errorf("the phone with its token: GET /api/v1/torrents = %d, want 200", code)
	}
	if got := board.led.watch(); got != "slow" {
		t.Errorf("after pairing: the status LED shows %s, want slow (window closed)", got)
	}
	// A second host asking now is not let in: the window is closed.
	if code := get(""); code != http.StatusUnauthorized {
		t.Errorf("without a token: %d, want 401", code)
	}

	cancel()
	if code := <-exited; code != exitOK {
		t.Errorf("hearth serve exited %d, want 0", code)
	}
	exited <- exitOK // for the deferred wait
	if board.led.level() != gpio.Low {
		t.Error("the status LED is lit after the daemon stopped")
	}
}

// BenchmarkLEDState is what the LEDs cost the engine: its stats every
// second, its torrent list every problemEvery; here with 50 seeding
// torrents of 128 pieces and 50 magnets waiting for metadata.
func BenchmarkLEDState(b *testing.B) {
	node := enginetest.StartNode(b, enginetest.NodeOptions{})
	ac, err := access.New(access.Options{Store: node.Store})
	if err != nil {
		b.Fatal(err)
	}
	g := &gpioDaemon{eng: node.Engine, ac: ac}
	dir := b.TempDir()
	for i := range 50 {
		tt := enginetest.MakeTorrent(b, dir, fmt.Sprintf("t%d", i), 16<<10, []enginetest.File{{Path: "a", Size: 1 << 20}, {Path: "b", Size: 1 << 20}})
		if _, _, err := node.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Dir: dir}); err != nil {
			b.Fatal(err)
		}
		if _, _, err := node.Engine.Add(context.Background(), engine.AddRequest{Magnet: magnet()}); err != nil {
			b.Fatal(err)
		}
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		n := 0
		for _, t := range node.Engine.List() {
			if t.State == engine.StateSeeding {
				n++
			}
		}
		if n == 50 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of 50 torrents seeding after a minute", n)
		}
	}
	// Every second.
	b.Run("rates", func(b *testing.B) {
		for b.Loop() {
			g.state()
		}
	})
	// Every problemEvery.
	b.Run("errors", func(b *testing.B) {
		for b.Loop() {
			if g.problem() {
				b.Fatal("a torrent in error")
			}
		}
	})
}
