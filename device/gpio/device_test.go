package gpio

import (
	"bytes"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testLogger(w *lockedBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Close ends every goroutine of a device: counted, not assumed. (The
// synctest bubble would also refuse to end with one left.)
func TestDeviceCloseLeavesNoGoroutines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		before := runtime.NumGoroutine()
		btn := newPin("BTN")
		status, second := &countingPin{Pin: &gpiotest.Pin{N: "LED1"}}, &countingPin{Pin: &gpiotest.Pin{N: "LED2"}}
		ev := &events{}
		d, err := New(Pins{Button: btn, ButtonActiveLow: true, LEDStatus: status, LEDSecond: second, LEDSecondActiveLow: true},
			Options{Button: ev.options()})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := d.String(), "status LED LED1, second LED LED2 (active low), button BTN (active low)"; got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
		d.Status().Set(Fast)
		d.Second().Set(Double)
		btn.EdgesChan <- gpio.Low
		time.Sleep(100 * time.Millisecond)
		btn.EdgesChan <- gpio.High
		time.Sleep(time.Second)
		synctest.Wait()
		if n := runtime.NumGoroutine(); n != before+3 {
			t.Errorf("%d goroutines with a button and two LEDs, want %d", n, before+3)
		}
		if got := ev.take(); len(got) != 1 || got[0] != "short" {
			t.Errorf("press: callbacks %v, want [short]", got)
		}
		d.Close()
		if n := runtime.NumGoroutine(); n != before {
			t.Errorf("%d goroutines after Close, want %d as before New", n, before)
		}
		if status.level() != gpio.Low || second.level() != gpio.High {
			t.Errorf("after Close: status LED pin %s, second (active low) %s, want both off", status.level(), second.level())
		}
		d.Close() // twice is fine
	})
}

// Close returns promptly even while the button waits for an edge on a
// driver whose Halt cannot interrupt the wait (gpiotest's does nothing):
// within the wait's bound.
func TestButtonCloseWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ev := &events{}
		pin := newPin("BTN")
		b, err := NewButton(pin, true, ev.options())
		if err != nil {
			t.Fatal(err)
		}
		pin.EdgesChan <- gpio.Low // pressed, then the daemon stops
		start := time.Now()
		b.Close()
		if d := time.Since(start); d > idleWait {
			t.Errorf("Close took %s, want at most %s", d, idleWait)
		}
		if got := ev.take(); len(got) != 0 {
			t.Errorf("callbacks %v after a press cut by Close, want none", got)
		}
	})
}

func TestOpen(t *testing.T) {
	if _, err := Open(Config{}, Options{}); !errors.Is(err, ErrNoGPIO) || !strings.Contains(err.Error(), "no pins configured") {
		t.Errorf("Open(no pins) = %v, want ErrNoGPIO saying no pins are configured", err)
	}
	if len(gpioreg.All()) == 0 {
		// This machine has no GPIO (FIELD-NOTES: host.Init succeeds with
		// every driver skipped): the feature is off, not an error.
		_, err := Open(Config{Button: "GPIO17"}, Options{})
		if !errors.Is(err, ErrNoGPIO) || !strings.Contains(err.Error(), "no driver found GPIO pins") {
			t.Errorf("Open(GPIO17) on a machine without GPIO = %v, want ErrNoGPIO", err)
		}
	}

	// Fake pins in periph's registry stand for a board's.
	for _, name := range []string{"TEST_BTN", "TEST_LED"} {
		p := &gpiotest.Pin{N: name, Num: 900 + len(name), EdgesChan: make(chan gpio.Level)}
		if err := gpioreg.Register(p); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { gpioreg.Unregister(name) })
	}
	_, err := Open(Config{Button: "TEST_BTN", LEDStatus: "GPIO27", LEDSecond: "NOPE"}, Options{})
	var pe *PinError
	if !errors.As(err, &pe) || pe.Key != KeyLEDStatus || errors.Is(err, ErrNoGPIO) ||
		!strings.Contains(err.Error(), `gpio.led_status: no GPIO pin "GPIO27" on this machine (it has`) ||
		!strings.Contains(err.Error(), `gpio.led_second: no GPIO pin "NOPE"`) || !strings.Contains(err.Error(), "TEST_BTN") {
		t.Errorf("Open with unknown pins = %v, want errors naming gpio.led_status and gpio.led_second and the pins there are", err)
	}

	ev := &events{}
	d, err := Open(Config{Button: "TEST_BTN", LEDStatus: "TEST_LED", LEDStatusActiveLow: true}, Options{Button: ev.options()})
	if err != nil {
		t.Fatalf("Open(TEST_BTN, TEST_LED) = %v", err)
	}
	defer d.Close()
	if !d.HasButton() || d.Status() == nil || d.Second() != nil {
		t.Errorf("Open(button, status LED) = button %v, status %v, second %v", d.HasButton(), d.Status(), d.Second())
	}
	led := gpioreg.ByName("TEST_LED").(*gpiotest.Pin)
	d.Status().Set(Steady)
	deadline := time.Now().Add(5 * time.Second)
	for {
		led.Lock()
		l := led.L
		led.Unlock()
		if l == gpio.Low {
			break // lit: the LED is active low
		}
		if time.Now().After(deadline) {
			t.Fatal("status LED (active low) not lit 5 s after Set(Steady)")
		}
		time.Sleep(time.Millisecond)
	}
}
