package gpio

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
)

// Pattern is what an LED shows.
type Pattern int

const (
	Off    Pattern = iota // dark
	Steady                // lit
	Slow                  // 1 s lit, 1 s dark
	Fast                  // 200 ms lit, 200 ms dark
	Double                // two 200 ms flashes 200 ms apart, every 2 s
	Rapid                 // 100 ms lit, 100 ms dark
)

var patternNames = [...]string{"off", "steady", "slow", "fast", "double", "rapid"}

func (p Pattern) String() string {
	if p < 0 || int(p) >= len(patternNames) {
		return fmt.Sprintf("Pattern(%d)", int(p))
	}
	return patternNames[p]
}

// steps are the blinking patterns: lit for steps[0], dark for steps[1],
// lit for steps[2]… and round again. Off and Steady have none.
var steps = map[Pattern][]time.Duration{
	Slow:   {time.Second, time.Second},
	Fast:   {200 * time.Millisecond, 200 * time.Millisecond},
	Double: {200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond, 1400 * time.Millisecond},
	Rapid:  {100 * time.Millisecond, 100 * time.Millisecond},
}

// LED drives an LED on an output pin. Its goroutine owns the pin; a
// timer wakes it once per step while it blinks, never otherwise. Its
// methods are safe for concurrent use.
type LED struct {
	pin       gpio.PinOut
	activeLow bool
	log       *slog.Logger

	mu   sync.Mutex
	want Pattern

	changed   chan struct{} // a Set happened (buffer 1)
	stop      chan struct{}
	closeOnce sync.Once
	done      chan struct{}
}

// NewLED turns the LED off and starts its goroutine. activeLow says the
// LED lights when the pin is low (wired between the supply and the pin).
// The logger gets the first failed write to the pin (nil discards).
func NewLED(pin gpio.PinOut, activeLow bool, log *slog.Logger) (*LED, error) {
	l := &LED{pin: pin, activeLow: activeLow, log: log,
		changed: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if err := pin.Out(l.level(false)); err != nil {
		return nil, fmt.Errorf("configure LED pin %s: %w", pin.Name(), err)
	}
	go l.run()
	return l, nil
}

// Set makes the LED show p from now on. Setting the pattern it already
// shows changes nothing (a blink goes on in step), so callers may set
// it as often as they like.
func (l *LED) Set(p Pattern) {
	if p != Off && p != Steady && steps[p] == nil {
		p = Steady // an unknown pattern at least shows something
	}
	l.mu.Lock()
	l.want = p
	l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default: // a change is already pending; the goroutine reads the latest
	}
}

// Pattern returns the pattern last set.
func (l *LED) Pattern() Pattern {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.want
}

// Close turns the LED off and stops its goroutine. Set after Close does
// nothing. It is safe to call more than once.
func (l *LED) Close() error {
	l.closeOnce.Do(func() { close(l.stop) })
	<-l.done
	return nil
}

func (l *LED) level(lit bool) gpio.Level { return gpio.Level(lit != l.activeLow) }

func (l *LED) run() {
	defer close(l.done)
	var (
		cur    Pattern // what the LED shows
		seq    []time.Duration
		step   int
		timer  *time.Timer
		timerC <-chan time.Time // nil unless blinking
		failed bool
	)
	write := func(lit bool) {
		if err := l.pin.Out(l.level(lit)); err != nil && !failed {
			failed = true // one line, not one per blink
			l.log.Warn("LED pin write failed", "pin", l.pin.Name(), "err", err)
		}
	}
	stopTimer := func() {
		if timer != nil {
			timer.Stop()
			timer, timerC = nil, nil
		}
	}
	for {
		select {
		case <-l.stop:
			stopTimer()
			write(false)
			return
		case <-l.changed:
			p := l.Pattern()
			if p == cur {
				continue
			}
			cur = p
			stopTimer()
			seq = steps[p]
			if seq == nil {
				write(p == Steady)
				continue
			}
			step = 0
			write(true)
			timer = time.NewTimer(seq[0])
			timerC = timer.C
		case <-timerC:
			step = (step + 1) % len(seq)
			write(step%2 == 0)
			timer.Reset(seq[step])
		}
	}
}
