package gpio

import (
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// countingPin counts writes, to show that an LED only writes when its
// level changes.
type countingPin struct {
	*gpiotest.Pin
	writes atomic.Int64
}

func (p *countingPin) Out(l gpio.Level) error {
	p.writes.Add(1)
	return p.Pin.Out(l)
}

func (p *countingPin) level() gpio.Level {
	p.Lock()
	defer p.Unlock()
	return p.L
}

func startLED(t *testing.T, activeLow bool) (*LED, *countingPin) {
	t.Helper()
	pin := &countingPin{Pin: &gpiotest.Pin{N: "LED"}}
	l, err := NewLED(pin, activeLow, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, pin
}

// sample reads whether the LED is lit n times, every 100 ms from now:
// "1" lit, "0" dark. Callers sample between step boundaries (every
// boundary is a multiple of 100 ms after the Set), not on them.
func sample(pin *countingPin, activeLow bool, n int) string {
	var b strings.Builder
	for range n {
		synctest.Wait()
		if (pin.level() == gpio.High) != activeLow {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
		time.Sleep(100 * time.Millisecond)
	}
	return b.String()
}

func TestLEDPatterns(t *testing.T) {
	r := strings.Repeat
	tests := []struct {
		p    Pattern
		want string // 4 s in 100 ms samples
	}{
		{Off, r("0", 40)},
		{Steady, r("1", 40)},
		{Slow, r(r("1", 10)+r("0", 10), 2)},
		{Fast, r("1100", 10)},
		{Double, r("110011"+r("0", 14), 2)},
		{Rapid, r("10", 20)},
	}
	for _, activeLow := range []bool{false, true} {
		for _, tt := range tests {
			name := tt.p.String()
			if activeLow {
				name += "/active-low"
			}
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					l, pin := startLED(t, activeLow)
					l.Set(tt.p)
					time.Sleep(50 * time.Millisecond)
					if got := sample(pin, activeLow, 40); got != tt.want {
						t.Errorf("LED showing %s lit as\n%s, want\n%s", tt.p, got, tt.want)
					}
					if got := l.Pattern(); got != tt.p {
						t.Errorf("Pattern() = %s, want %s", got, tt.p)
					}
				})
			})
		}
	}
}

func TestLEDChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, pin := startLED(t, false)
		if pin.level() != gpio.Low {
			t.Fatal("a new LED is lit, want it off")
		}
		l.Set(Slow)
		time.Sleep(50 * time.Millisecond)
		if got := sample(pin, false, 15); got != "111111111100000" {
			t.Errorf("slow for 1.5 s = %s", got)
		}
		// Setting the same pattern again does not restart it: it stays dark
		// until 2 s, then lights.
		l.Set(Slow)
		if got := sample(pin, false, 10); got != "0000011111" {
			t.Errorf("slow, set again at 1.55 s = %s, want it to go on in step", got)
		}
		// Another pattern starts at its beginning, lit.
		l.Set(Fast)
		time.Sleep(50 * time.Millisecond)
		if got := sample(pin, false, 8); got != "11001100" {
			t.Errorf("slow then fast = %s", got)
		}
		l.Set(Off)
		if got := sample(pin, false, 5); got != "00000" {
			t.Errorf("fast then off = %s", got)
		}
		l.Set(Steady)
		if got := sample(pin, false, 5); got != "11111" {
			t.Errorf("off then steady = %s", got)
		}
		l.Set(Pattern(42))
		if got := l.Pattern(); got != Steady {
			t.Errorf("Set(Pattern(42)) then Pattern() = %s, want steady", got)
		}
	})
}

// An LED that does not blink writes its pin once and has no timer; a
// blinking one writes once per step of its pattern.
func TestLEDWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, pin := startLED(t, false)
		l.Set(Steady)
		synctest.Wait()
		start := pin.writes.Load()
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := pin.writes.Load() - start; n != 0 {
			t.Errorf("steady LED wrote its pin %d times in an hour, want 0", n)
		}
		l.Set(Off)
		l.Set(Slow)
		synctest.Wait()
		start = pin.writes.Load()
		time.Sleep(10*time.Second + 500*time.Millisecond)
		synctest.Wait()
		if n := pin.writes.Load() - start; n != 10 {
			t.Errorf("slow blink wrote its pin %d times in 10.5 s, want 10 (one per step)", n)
		}
	})
}

func TestLEDClose(t *testing.T) {
	for _, activeLow := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			l, pin := startLED(t, activeLow)
			l.Set(Steady)
			synctest.Wait()
			l.Close()
			off := gpio.Level(activeLow)
			if pin.level() != off {
				t.Errorf("LED (activeLow %v) after Close: pin %s, want %s (off)", activeLow, pin.level(), off)
			}
			l.Set(Steady) // does nothing, does not block
			l.Close()
			synctest.Wait()
			if pin.level() != off {
				t.Errorf("Set after Close lit the LED")
			}
		})
	}
}

func TestPatternString(t *testing.T) {
	for p, want := range map[Pattern]string{Off: "off", Steady: "steady", Double: "double", Rapid: "rapid", Pattern(9): "Pattern(9)"} {
		if got := p.String(); got != want {
			t.Errorf("Pattern(%d).String() = %q, want %q", int(p), got, want)
		}
	}
}
