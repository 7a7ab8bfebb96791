package gpio

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// These tests run inside synctest bubbles: time.Sleep moves the bubble's
// clock, which is also the clock of the button (time.Now, the timeouts
// of gpiotest's WaitForEdge), so press lengths are exact to the
// nanosecond and a 30-second press takes no real time.

// events records the button's callbacks.
type events struct {
	mu  sync.Mutex
	got []string
}

func (e *events) add(name string) func() {
	return func() {
		e.mu.Lock()
		e.got = append(e.got, name)
		e.mu.Unlock()
	}
}

// take returns the events so far and forgets them.
func (e *events) take() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	got := e.got
	e.got = nil
	return got
}

func (e *events) options() ButtonOptions {
	return ButtonOptions{OnShort: e.add("short"), OnLong: e.add("long"), OnVeryLong: e.add("verylong"),
		OnReset: e.add("reset"), OnResetCancelled: e.add("cancelled")}
}

// newPin is a fake pin whose edges the test sends. EdgesChan is
// unbuffered: a send returns once the button's WaitForEdge took it.
func newPin(name string) *gpiotest.Pin {
	return &gpiotest.Pin{N: name, EdgesChan: make(chan gpio.Level)}
}

// testButton is a button on a fake pin, closed at the end of the test.
type testButton struct {
	t    *testing.T
	pin  *gpiotest.Pin
	up   gpio.Level // the released level
	ev   *events
	stop func()
}

func startButton(t *testing.T, activeLow bool) *testButton {
	t.Helper()
	tb := &testButton{t: t, pin: newPin("BTN"), up: gpio.Low, ev: &events{}}
	if activeLow {
		tb.up = gpio.High
	}
	b, err := NewButton(tb.pin, activeLow, tb.ev.options())
	if err != nil {
		t.Fatal(err)
	}
	tb.stop = func() { b.Close() }
	t.Cleanup(tb.stop)
	return tb
}

// edge sends a level change, as the pin's interrupt would.
func (tb *testButton) edge(l gpio.Level) { tb.pin.EdgesChan <- l }

// press holds the button for d (clean contacts), then lets the button
// settle past its debounce time.
func (tb *testButton) press(d time.Duration) {
	tb.edge(!tb.up)
	time.Sleep(d)
	tb.edge(tb.up)
	tb.settle()
}

func (tb *testButton) settle() {
	time.Sleep(DefaultTiming.Debounce + time.Millisecond)
	synctest.Wait()
}

func (tb *testButton) want(what string, want ...string) {
	tb.t.Helper()
	if got := tb.ev.take(); !slices.Equal(got, want) {
		tb.t.Errorf("%s: callbacks %v, want %v", what, got, want)
	}
}

func TestButtonPressLengths(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		hold time.Duration
		want []string
	}{
		{40 * ms, []string{"short"}},
		{500 * ms, []string{"short"}},
		{3*time.Second - ms, []string{"short"}},
		{3 * time.Second, []string{"long"}},
		{5 * time.Second, []string{"long"}},
		{10*time.Second - ms, []string{"long"}},
		{10 * time.Second, []string{"verylong"}},
		{30 * time.Second, []string{"verylong"}},
		{30*time.Second + ms, nil}, // stuck, or active-low the wrong way round
		{5 * time.Minute, nil},
	}
	for _, activeLow := range []bool{true, false} {
		for _, tt := range tests {
			name := tt.hold.String()
			if !activeLow {
				name += "/active-high"
			}
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					tb := startButton(t, activeLow)
					tb.press(tt.hold)
					tb.want("press of "+tt.hold.String(), tt.want...)
				})
			})
		}
	}
}

func TestButtonPull(t *testing.T) {
	for _, tt := range []struct {
		activeLow bool
		want      gpio.Pull
	}{{true, gpio.PullUp}, {false, gpio.PullDown}} {
		synctest.Test(t, func(t *testing.T) {
			tb := startButton(t, tt.activeLow)
			tb.pin.Lock()
			got := tb.pin.P
			tb.pin.Unlock()
			if got != tt.want {
				t.Errorf("NewButton(activeLow %v) set pull %s, want %s", tt.activeLow, got, tt.want)
			}
		})
	}
}

func TestButtonDebounce(t *testing.T) {
	ms := time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		tb := startButton(t, true)
		down, up := gpio.Low, gpio.High

		// Contacts bounce for a few milliseconds each way: one short press.
		for _, l := range []gpio.Level{down, up, down, up, down} {
			tb.edge(l)
			time.Sleep(2 * ms)
		}
		time.Sleep(400 * ms)
		for _, l := range []gpio.Level{up, down, up, down, up} {
			tb.edge(l)
			time.Sleep(3 * ms)
		}
		tb.settle()
		tb.want("bouncy short press", "short")

		// A spike shorter than the debounce time is no press.
		tb.edge(down)
		time.Sleep(5 * ms)
		tb.edge(up)
		tb.settle()
		tb.want("5 ms spike")

		// Bounces ending where they began (released) are no press either.
		for _, l := range []gpio.Level{down, up, down, up} {
			tb.edge(l)
			time.Sleep(ms)
		}
		tb.settle()
		tb.want("bounces back to released")

		// The length counts from the first edge of the press to the first
		// edge of the release: bouncing does not stretch a press over 3 s.
		tb.edge(down)
		time.Sleep(2 * ms)
		tb.edge(up)
		time.Sleep(2 * ms)
		tb.edge(down)
		time.Sleep(3*time.Second - 10*ms)
		for _, l := range []gpio.Level{up, down, up} {
			tb.edge(l)
			time.Sleep(2 * ms)
		}
		tb.settle()
		tb.want("bouncy press of 2.99 s", "short")

		// And a clean one of 3 s is long.
		tb.press(3 * time.Second)
		tb.want("long press", "long")
	})
}

func TestButtonReset(t *testing.T) {
	s := time.Second
	tests := []struct {
		name string
		// presses: hold, then wait before the next one
		presses [][2]time.Duration
		wait    time.Duration // after the last press
		want    []string
	}{
		{"confirmed at once", [][2]time.Duration{{10 * s, 0}, {200 * time.Millisecond, 0}}, 0, []string{"verylong", "reset"}},
		{"confirmed late in the window", [][2]time.Duration{{12 * s, 9 * s}, {200 * time.Millisecond, 0}}, 0, []string{"verylong", "reset"}},
		// It started within the window; it ends after it.
		{"confirm held across the window's end", [][2]time.Duration{{10 * s, 9 * s}, {2 * s, 0}}, 0, []string{"verylong", "reset"}},
		{"window passes", [][2]time.Duration{{10 * s, 0}}, 10 * s, []string{"verylong", "cancelled"}},
		{"press after the window is a plain short one", [][2]time.Duration{{10 * s, 11 * s}, {200 * time.Millisecond, 0}}, 0, []string{"verylong", "cancelled", "short"}},
		{"a long press cancels, and does not pair", [][2]time.Duration{{10 * s, 1 * s}, {4 * s, 0}}, 0, []string{"verylong", "cancelled"}},
		{"a very long press cancels, and does not re-arm", [][2]time.Duration{{10 * s, 1 * s}, {10 * s, 1 * s}, {200 * time.Millisecond, 0}}, 0, []string{"verylong", "cancelled", "short"}},
		{"stuck after arming cancels", [][2]time.Duration{{10 * s, 1 * s}, {40 * s, 0}}, 0, []string{"verylong", "cancelled"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tb := startButton(t, true)
				for _, p := range tt.presses {
					tb.press(p[0])
					time.Sleep(p[1])
				}
				time.Sleep(tt.wait)
				synctest.Wait()
				tb.want(tt.name, tt.want...)
			})
		})
	}
}

// heldPin is a button held down while the daemon starts: the contact
// wins over the pull-up that In sets.
type heldPin struct{ *gpiotest.Pin }

func (p heldPin) In(pull gpio.Pull, edge gpio.Edge) error {
	err := p.Pin.In(pull, edge)
	p.Lock()
	p.L = gpio.Low
	p.Unlock()
	return err
}

func TestButtonHeldAtStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs lockedBuffer
		ev := &events{}
		pin := newPin("BTN")
		o := ev.options()
		o.Logger = testLogger(&logs)
		b, err := NewButton(heldPin{pin}, true, o)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		// Released after 12 s: that press began before the button was
		// watched, so it is not a very long press.
		time.Sleep(12 * time.Second)
		pin.EdgesChan <- gpio.High
		time.Sleep(time.Second)
		synctest.Wait()
		if got := ev.take(); len(got) != 0 {
			t.Errorf("release of a press held at start: callbacks %v, want none", got)
		}
		if !strings.Contains(logs.String(), "button reads pressed at start") {
			t.Errorf("log = %q, want a warning about the button held at start", logs.String())
		}
		pin.EdgesChan <- gpio.Low
		time.Sleep(100 * time.Millisecond)
		pin.EdgesChan <- gpio.High
		time.Sleep(time.Second)
		synctest.Wait()
		if got := ev.take(); !slices.Equal(got, []string{"short"}) {
			t.Errorf("next press: callbacks %v, want [short]", got)
		}
	})
}

// The callbacks run one at a time on the button's goroutine: a slow one
// delays the next press's report but loses nothing.
func TestButtonSlowCallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pin := newPin("BTN")
		ev := &events{}
		o := ev.options()
		short := o.OnShort
		o.OnShort = func() { time.Sleep(2 * time.Second); short() }
		b, err := NewButton(pin, true, o)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		for range 2 {
			pin.EdgesChan <- gpio.Low
			time.Sleep(100 * time.Millisecond)
			pin.EdgesChan <- gpio.High
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := ev.take(); !slices.Equal(got, []string{"short", "short"}) {
			t.Errorf("two presses with a slow callback: %v, want [short short]", got)
		}
	})
}
