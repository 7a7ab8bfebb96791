// Package gpio is the box's push button and LEDs, on GPIO pins through
// periph.io: a Button that turns edges into presses (short, long, very
// long, then a confirming press for a reset) and LEDs that show a Pattern
// (off, steady, slow, fast, double or rapid blink).
//
// Button and LED take periph's gpio.PinIn and gpio.PinOut, so tests drive
// them with gpiotest fake pins; Open resolves the configured pin names
// once with host.Init and gpioreg. The package knows nothing of torrents
// or pairing: the daemon (cmd/hearth/serve_gpio.go) decides what a press
// does and which pattern an LED shows. docs/device.md describes the
// wiring, the presses and the patterns for owners.
//
// # No busy loops
//
// The button's goroutine sleeps in WaitForEdge (an interrupt on real
// pins) with a timeout of at most a second, needed only because drivers
// disagree on what "forever" is and because Halt, which interrupts the
// wait on Close, can be lost between two waits on some of them. An LED's
// goroutine is woken by a timer only while it blinks, once per step of
// the pattern; off and steady cost nothing.
//
// # Time in tests
//
// Both use the time package directly. Tests run them inside a
// testing/synctest bubble, whose clock only moves when every goroutine
// in it is blocked: press lengths, debouncing and blink steps are then
// exact and instant, with no clock interface to inject.
package gpio
