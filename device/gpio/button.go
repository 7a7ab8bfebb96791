package gpio

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// Timing holds the press lengths a Button tells apart. A zero field takes
// its value from DefaultTiming.
type Timing struct {
	// Debounce is how long a level must hold to count: contacts bounce
	// for a few milliseconds when pressed and released.
	Debounce time.Duration
	// Long: a press at least this long is a long press, shorter ones are short.
	Long time.Duration
	// VeryLong: a press at least this long arms the reset.
	VeryLong time.Duration
	// Confirm is how long after a very long press the confirming short
	// press may start.
	Confirm time.Duration
	// Max: a press longer than this is ignored. Nobody holds a button
	// for that long on purpose; a stuck button, or a pin whose
	// gpio.button_active_low is set the wrong way round (it then reads
	// "pressed" whenever the button is up), does.
	Max time.Duration
}

// DefaultTiming is what the daemon uses; docs/device.md documents it.
var DefaultTiming = Timing{
	Debounce: 30 * time.Millisecond,
	Long:     3 * time.Second,
	VeryLong: 10 * time.Second,
	Confirm:  10 * time.Second,
	Max:      30 * time.Second,
}

func (t Timing) withDefaults() Timing {
	d := DefaultTiming
	for _, f := range []struct{ v, def *time.Duration }{
		{&t.Debounce, &d.Debounce}, {&t.Long, &d.Long}, {&t.VeryLong, &d.VeryLong}, {&t.Confirm, &d.Confirm}, {&t.Max, &d.Max},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return t
}

// idleWait bounds every wait for an edge. Drivers disagree on the value
// that means "wait forever" (gpioioctl: 0, where 0 returns at once on
// gpiotest and -1 returns at once on gpioioctl), and a Halt that comes
// between two waits is lost, so the loop wakes up this often to look at
// its stop flag. Once a second is nothing for any CPU.
const idleWait = time.Second

// ButtonOptions configure a Button. The callbacks run on the button's own
// goroutine, one at a time, in the order of the presses; they must not
// block for long (the button is not watched meanwhile). A nil callback
// does nothing.
type ButtonOptions struct {
	// Timing overrides DefaultTiming field by field.
	Timing Timing
	// Logger gets one line per press at debug level and warnings (a press
	// ignored as too long, a button held at start). Nil discards.
	Logger *slog.Logger
	// OnShort: a press shorter than Timing.Long.
	OnShort func()
	// OnLong: a press of Timing.Long or more, shorter than Timing.VeryLong.
	OnLong func()
	// OnVeryLong: a press of Timing.VeryLong or more (up to Timing.Max).
	// It arms the reset: a short press that starts within Timing.Confirm
	// of its release calls OnReset.
	OnVeryLong func()
	// OnReset: the confirming short press after a very long one.
	OnReset func()
	// OnResetCancelled: the reset was armed and is not any more, because
	// Timing.Confirm passed without a press or the next press was not
	// short. That press does nothing else.
	OnResetCancelled func()
}

// Button watches a push button on an input pin and reports its presses.
type Button struct {
	pin  gpio.PinIn
	down gpio.Level // the level that means pressed
	t    Timing
	o    ButtonOptions
	log  *slog.Logger

	stop      atomic.Bool
	closeOnce sync.Once
	done      chan struct{}
}

// NewButton configures pin as an input with edge detection and starts
// watching it. activeLow says the button pulls the pin low when pressed
// (wired to ground: the pin gets a pull-up); otherwise high means pressed
// (a pull-down). Where the driver cannot set a pull resistor (sysfs), the
// board's own resistor must do. Close stops it.
func NewButton(pin gpio.PinIn, activeLow bool, o ButtonOptions) (*Button, error) {
	b := &Button{pin: pin, down: gpio.High, t: o.Timing.withDefaults(), o: o, log: o.Logger, done: make(chan struct{})}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	pull := gpio.PullDown
	if activeLow {
		b.down, pull = gpio.Low, gpio.PullUp
	}
	if err := pin.In(pull, gpio.BothEdges); err != nil {
		// sysfs refuses any pull setting; the board's resistor must do.
		if err2 := pin.In(gpio.PullNoChange, gpio.BothEdges); err2 != nil {
			return nil, fmt.Errorf("configure button pin %s: %w", pin.Name(), err)
		}
		b.log.Debug("button pin without a pull resistor setting; relying on the board's", "pin", pin.Name(), "err", err)
	}
	go b.run()
	return b, nil
}

// Close stops watching the button and returns once its goroutine has
// ended (within idleWait where the driver cannot interrupt a wait). No
// callback runs after Close returns. It is safe to call more than once.
func (b *Button) Close() error {
	b.closeOnce.Do(func() {
		b.stop.Store(true)
		_ = b.pin.Halt() // interrupts WaitForEdge on gpioioctl pins
	})
	<-b.done
	return nil
}

func (b *Button) pressed() bool { return b.pin.Read() == b.down }

// press is the state of the button between edges.
type press struct {
	down  bool      // debounced: the button is pressed
	since time.Time // when the current press began
	valid bool      // the current press began while watching (not held at start)
	armed time.Time // the reset is armed until then; zero: not armed
}

func (b *Button) run() {
	defer close(b.done)
	defer func() { _ = b.pin.In(gpio.PullNoChange, gpio.NoEdge) }() // no more interrupts for nobody
	var s press
	if s.down = b.pressed(); s.down {
		b.log.Warn("button reads pressed at start: ignoring that press; if nobody holds it, gpio.button_active_low is probably the wrong way round", "pin", b.pin.Name())
	}
	for !b.stop.Load() {
		wait := idleWait
		if !s.armed.IsZero() {
			left := time.Until(s.armed)
			switch {
			case left > 0:
				wait = min(wait, left)
			case !s.down:
				s.armed = time.Time{}
				b.log.Info("button: reset not confirmed in time; nothing reset")
				call(b.o.OnResetCancelled)
				continue
			}
			// Held when the window ends: the release decides.
		}
		if !b.pin.WaitForEdge(wait) {
			continue
		}
		at := time.Now()
		// The level counts once no edge came for Debounce: the bounces
		// of one press or release are a burst of edges.
		for b.pin.WaitForEdge(b.t.Debounce) && !b.stop.Load() {
		}
		if b.stop.Load() {
			return // a press cut by Close does nothing
		}
		down := b.pressed()
		if down == s.down {
			continue // a glitch shorter than Debounce, or bounces that ended where they began
		}
		s.down = down
		if down {
			s.since, s.valid = at, true
			continue
		}
		if s.valid {
			s.valid = false
			b.released(&s, at)
		}
	}
}

// released classifies the press that ended at `at`.
func (b *Button) released(s *press, at time.Time) {
	d := at.Sub(s.since)
	armed := !s.armed.IsZero()
	confirm := armed && d < b.t.Long && s.since.Before(s.armed)
	s.armed = time.Time{}
	switch {
	case d > b.t.Max:
		b.log.Warn("button held longer than any press: ignored (a stuck button, or gpio.button_active_low the wrong way round?)",
			"held", d.Round(time.Second), "pin", b.pin.Name())
		if armed {
			call(b.o.OnResetCancelled)
		}
	case confirm:
		b.log.Debug("button: reset confirmed", "held", d)
		call(b.o.OnReset)
	case armed:
		b.log.Info("button: reset cancelled by a press that was not a short one in time; nothing reset", "held", d.Round(time.Millisecond))
		call(b.o.OnResetCancelled)
	case d < b.t.Long:
		b.log.Debug("button: short press", "held", d)
		call(b.o.OnShort)
	case d < b.t.VeryLong:
		b.log.Debug("button: long press", "held", d)
		call(b.o.OnLong)
	default:
		b.log.Debug("button: very long press; reset armed", "held", d, "confirmWithin", b.t.Confirm)
		s.armed = at.Add(b.t.Confirm)
		call(b.o.OnVeryLong)
	}
}

func call(f func()) {
	if f != nil {
		f()
	}
}
