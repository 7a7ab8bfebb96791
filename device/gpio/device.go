package gpio

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
)

// ErrNoGPIO means there is nothing to drive: no pin is configured, or
// the machine has no GPIO (a PC, a container) or none this process may
// use. The daemon then runs without button and LEDs, saying so once; the
// error's text says which case it is.
var ErrNoGPIO = errors.New("gpio: no GPIO")

// Config names the pins of each part, as the GPIO driver names them
// ("GPIO17"); empty means the box has no such part. It mirrors the gpio
// section of Hearth's config.
type Config struct {
	Button             string
	ButtonActiveLow    bool
	LEDStatus          string
	LEDStatusActiveLow bool
	LEDSecond          string
	LEDSecondActiveLow bool
}

// Config keys of the pins, for error messages.
const (
	KeyButton    = "gpio.button"
	KeyLEDStatus = "gpio.led_status"
	KeyLEDSecond = "gpio.led_second"
)

// PinError is a configured pin name that this machine does not have.
type PinError struct {
	Key   string   // the config key: gpio.button, gpio.led_status or gpio.led_second
	Pin   string   // the name configured
	Known []string // some of the names the machine has, for the message
	Total int      // how many pins the machine has
}

func (e *PinError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: no GPIO pin %q on this machine", e.Key, e.Pin)
	if len(e.Known) > 0 {
		fmt.Fprintf(&b, " (it has %d, like %s)", e.Total, strings.Join(e.Known, ", "))
	}
	return b.String()
}

// Pins are the resolved pins of a Device; nil means no such part.
type Pins struct {
	Button             gpio.PinIn
	ButtonActiveLow    bool
	LEDStatus          gpio.PinOut
	LEDStatusActiveLow bool
	LEDSecond          gpio.PinOut
	LEDSecondActiveLow bool
}

// Options configure a Device.
type Options struct {
	// Logger is passed to the button and LEDs; nil discards.
	Logger *slog.Logger
	// Button holds the callbacks and timing of the button.
	Button ButtonOptions
}

// Device is the box's button and LEDs; any of them may be absent.
type Device struct {
	button         *Button
	status, second *LED
	desc           string
}

// Open loads periph's host drivers, resolves the configured pin names
// and starts the parts with New. It returns an error wrapping ErrNoGPIO
// when no pin is configured or the machine has no usable GPIO, and a
// *PinError when it has GPIO but not a configured pin.
func Open(cfg Config, o Options) (*Device, error) {
	if cfg.Button == "" && cfg.LEDStatus == "" && cfg.LEDSecond == "" {
		return nil, fmt.Errorf("%w: no pins configured (%s, %s, %s)", ErrNoGPIO, KeyButton, KeyLEDStatus, KeyLEDSecond)
	}
	state, err := host.Init()
	if err != nil {
		return nil, fmt.Errorf("load GPIO drivers: %w", err)
	}
	all := gpioreg.All()
	if len(all) == 0 {
		why := "no driver found GPIO pins on this machine"
		if len(state.Failed) > 0 {
			var fails []string
			for _, f := range state.Failed {
				fails = append(fails, f.String())
			}
			why += "; failed: " + strings.Join(fails, "; ")
		}
		return nil, fmt.Errorf("%w: %s", ErrNoGPIO, why)
	}
	find := func(key, name string) (gpio.PinIO, error) {
		if name == "" {
			return nil, nil
		}
		if p := gpioreg.ByName(name); p != nil {
			return p, nil
		}
		e := &PinError{Key: key, Pin: name, Total: len(all)}
		for _, p := range all[:min(len(all), 8)] {
			e.Known = append(e.Known, p.Name())
		}
		return nil, e
	}
	p := Pins{ButtonActiveLow: cfg.ButtonActiveLow, LEDStatusActiveLow: cfg.LEDStatusActiveLow, LEDSecondActiveLow: cfg.LEDSecondActiveLow}
	var errs []error
	if pin, err := find(KeyButton, cfg.Button); err != nil {
		errs = append(errs, err)
	} else if pin != nil {
		p.Button = pin
	}
	if pin, err := find(KeyLEDStatus, cfg.LEDStatus); err != nil {
		errs = append(errs, err)
	} else if pin != nil {
		p.LEDStatus = pin
	}
	if pin, err := find(KeyLEDSecond, cfg.LEDSecond); err != nil {
		errs = append(errs, err)
	} else if pin != nil {
		p.LEDSecond = pin
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return New(p, o)
}

// New starts the parts whose pins are set: the button's goroutine, and
// the LEDs, off. If one fails, those already started are closed.
func New(p Pins, o Options) (d *Device, err error) {
	d = &Device{}
	defer func() {
		if err != nil {
			d.Close()
			d = nil
		}
	}()
	var desc []string
	if p.LEDStatus != nil {
		if d.status, err = NewLED(p.LEDStatus, p.LEDStatusActiveLow, o.Logger); err != nil {
			return d, fmt.Errorf("%s: %w", KeyLEDStatus, err)
		}
		desc = append(desc, "status LED "+describe(p.LEDStatus.Name(), p.LEDStatusActiveLow))
	}
	if p.LEDSecond != nil {
		if d.second, err = NewLED(p.LEDSecond, p.LEDSecondActiveLow, o.Logger); err != nil {
			return d, fmt.Errorf("%s: %w", KeyLEDSecond, err)
		}
		desc = append(desc, "second LED "+describe(p.LEDSecond.Name(), p.LEDSecondActiveLow))
	}
	if p.Button != nil {
		bo := o.Button
		if bo.Logger == nil {
			bo.Logger = o.Logger
		}
		if d.button, err = NewButton(p.Button, p.ButtonActiveLow, bo); err != nil {
			return d, fmt.Errorf("%s: %w", KeyButton, err)
		}
		desc = append(desc, "button "+describe(p.Button.Name(), p.ButtonActiveLow))
	}
	d.desc = strings.Join(desc, ", ")
	return d, nil
}

func describe(name string, activeLow bool) string {
	if activeLow {
		return name + " (active low)"
	}
	return name
}

// Status is the status LED, nil if there is none.
func (d *Device) Status() *LED { return d.status }

// Second is the second LED, nil if there is none.
func (d *Device) Second() *LED { return d.second }

// HasButton reports whether the device has a button.
func (d *Device) HasButton() bool { return d.button != nil }

// String lists the parts and their pins, for a log line.
func (d *Device) String() string { return d.desc }

// Close stops the button and turns the LEDs off. It returns when every
// goroutine of the device has ended.
func (d *Device) Close() error {
	if d.button != nil {
		d.button.Close()
	}
	for _, l := range []*LED{d.status, d.second} {
		if l != nil {
			l.Close()
		}
	}
	return nil
}
