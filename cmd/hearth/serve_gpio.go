package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearth-media/hearth/config"
	devgpio "github.com/hearth-media/hearth/device/gpio"
	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/store"
	"github.com/hearth-media/hearth/web/access"
)

// The box's button and LEDs (docs/device.md): presses act on the engine
// and the access controller, the LEDs show what the daemon does.

// pausedKey keeps the ids of the torrents a short press paused, so the
// next one resumes them, across a restart too.
const pausedKey = "device/gpio/paused"

// busyRate is the transfer rate (down + up, bytes/s) above which the
// status LED blinks fast: peers' chatter is not a transfer.
const busyRate = 2 << 10

// ledEvery is how often the LEDs are brought up to date; button presses
// update them at once. The transfer rate is read every time; the torrent
// list, to find torrents in error, only every problemEvery (and on a
// press): with 100 torrents a list costs about 1.5 ms on a 2.25 GHz EPYC core,
// the rates 0.5 ms (BenchmarkLEDState), and a router's CPU is some 20
// times slower.
const (
	ledEvery     = time.Second
	problemEvery = 10 * time.Second
)

// gpioDaemon connects the device's button and LEDs to the daemon.
type gpioDaemon struct {
	log *slog.Logger
	eng *engine.Engine
	ac  *access.Controller
	st  store.Store
	dev *devgpio.Device // nil: no GPIO

	armed atomic.Bool   // a very long press armed the reset
	nudge chan struct{} // update the LEDs now (buffer 1)
	mu    sync.Mutex    // one pause/resume at a time

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// buttonTiming is the button's press lengths; zero fields are
// devgpio.DefaultTiming (the documented ones). Tests shorten them.
var buttonTiming devgpio.Timing

// startGPIO opens the pins of the gpio config section and runs the
// button and LEDs until ctx is done (the LEDs then go off) and close is
// called. Without pins or without GPIO on the machine it logs one line
// and returns a gpioDaemon that does nothing; a pin the machine lacks is
// an error naming its key.
func startGPIO(ctx context.Context, cfg *config.Config, eng *engine.Engine, ac *access.Controller, st store.Store, log *slog.Logger) (*gpioDaemon, error) {
	g := &gpioDaemon{log: log.With("component", "gpio"), eng: eng, ac: ac, st: st, nudge: make(chan struct{}, 1)}
	c := cfg.GPIO
	dev, err := devgpio.Open(devgpio.Config{
		Button: c.Button, ButtonActiveLow: c.ButtonActiveLow,
		LEDStatus: c.LEDStatus, LEDStatusActiveLow: c.LEDStatusActiveLow,
		LEDSecond: c.LEDSecond, LEDSecondActiveLow: c.LEDSecondActiveLow,
	}, devgpio.Options{Logger: g.log, Button: devgpio.ButtonOptions{
		Timing:           buttonTiming,
		OnShort:          g.pauseOrResume,
		OnLong:           g.openPairing,
		OnVeryLong:       g.armReset,
		OnReset:          g.reset,
		OnResetCancelled: g.cancelReset,
	}})
	switch {
	case errors.Is(err, devgpio.ErrNoGPIO):
		lvl := slog.LevelInfo
		if c.Button != "" || c.LEDStatus != "" || c.LEDSecond != "" {
			lvl = slog.LevelWarn // pins configured, none usable
		}
		g.log.Log(ctx, lvl, "gpio off: no button or LEDs", "why", err.Error())
		return g, nil
	case err != nil:
		return nil, fmt.Errorf("config: %w", err)
	}
	g.dev = dev
	g.log.Info("gpio on", "parts", dev.String())
	ctx, g.cancel = context.WithCancel(ctx)
	g.wg.Go(func() { g.runLEDs(ctx) })
	return g, nil
}

// close turns the LEDs off and stops the button; it returns when every
// goroutine of the device has ended.
func (g *gpioDaemon) close() {
	if g.dev == nil {
		return
	}
	g.cancel()
	g.wg.Wait()
	g.dev.Close()
}

// kick brings the LEDs up to date now.
func (g *gpioDaemon) kick() {
	select {
	case g.nudge <- struct{}{}:
	default:
	}
}

// runLEDs updates the LEDs every ledEvery and when kicked, and turns
// them off when ctx is done: the daemon is stopping.
func (g *gpioDaemon) runLEDs(ctx context.Context) {
	t := time.NewTicker(ledEvery)
	defer t.Stop()
	var (
		problem bool
		checked time.Time // when problem was last looked at
	)
	for {
		s := g.state()
		if now := time.Now(); now.Sub(checked) >= problemEvery || checked.IsZero() {
			problem, checked = g.problem(), now
		}
		s.problem = problem
		g.showState(s)
		select {
		case <-ctx.Done():
			g.showState(ledState{stopping: true})
			return
		case <-t.C:
		case <-g.nudge:
			checked = time.Time{} // look at everything now
		}
	}
}

// ledState is what the LEDs show, most urgent first.
type ledState struct {
	stopping bool // off
	armed    bool // rapid: a reset waits for its confirming press
	pairing  bool // double: the pairing window is open
	problem  bool // steady: a torrent stopped by an error (disk full, storage gone)
	busy     bool // fast: data moving; otherwise slow (idle)
}

// state is the cheap part of the state: all but problem.
func (g *gpioDaemon) state() ledState {
	s := ledState{armed: g.armed.Load(), pairing: g.ac.PairingWindowOpen()}
	st := g.eng.Stats()
	s.busy = st.DownRate+st.UpRate >= busyRate
	return s
}

// problem reports whether a torrent is stopped by an error: a full disk,
// a download folder that vanished or cannot be written.
func (g *gpioDaemon) problem() bool {
	for _, t := range g.eng.List() {
		if t.State == engine.StateError {
			return true
		}
	}
	return false
}

// patterns maps a state to the LEDs: with one LED it shows the most
// urgent thing; with two, the status LED shows activity and the second
// one what needs the owner.
func patterns(s ledState, twoLEDs bool) (status, second devgpio.Pattern) {
	if s.stopping {
		return devgpio.Off, devgpio.Off
	}
	activity := devgpio.Slow
	if s.busy {
		activity = devgpio.Fast
	}
	attention := devgpio.Off
	switch {
	case s.armed:
		attention = devgpio.Rapid
	case s.pairing:
		attention = devgpio.Double
	case s.problem:
		attention = devgpio.Steady
	}
	if twoLEDs {
		return activity, attention
	}
	if attention != devgpio.Off {
		return attention, devgpio.Off
	}
	return activity, devgpio.Off
}

func (g *gpioDaemon) showState(s ledState) {
	status, second := g.dev.Status(), g.dev.Second()
	ps, p2 := patterns(s, status != nil && second != nil)
	switch {
	case status != nil:
		status.Set(ps)
		if second != nil {
			second.Set(p2)
		}
	case second != nil: // only a second LED: it shows everything
		second.Set(ps)
	}
}

// running reports whether a short press should pause t: anything but
// stopped (by the user or a seeding limit) or stopped by an error.
func running(t engine.Torrent) bool {
	return t.State != engine.StateStopped && t.State != engine.StateError
}

// pauseOrResume is the short press: if any torrent runs or waits in the
// queue, pause them all and remember which; otherwise resume the ones a
// short press paused (and only those: what the owner paused stays paused).
func (g *gpioDaemon) pauseOrResume() {
	g.mu.Lock()
	defer g.mu.Unlock()
	defer g.kick()
	list := g.eng.List()
	stopped := map[int64]bool{}
	var run []int64
	for _, t := range list {
		if running(t) {
			run = append(run, t.ID)
		} else if t.State == engine.StateStopped {
			stopped[t.ID] = true
		}
	}
	remembered := g.loadPaused()
	if len(run) > 0 {
		// Still paused from an earlier press, plus these.
		keep := slices.DeleteFunc(remembered, func(id int64) bool { return !stopped[id] })
		n := 0
		for _, id := range run {
			if err := g.eng.Pause(id); err != nil {
				g.log.Warn("button: pause torrent", "torrent", id, "err", err)
				continue
			}
			keep = append(keep, id)
			n++
		}
		g.savePaused(keep)
		g.log.Info("button: short press: paused every torrent; press again to resume them", "paused", n)
		return
	}
	n := 0
	for _, id := range remembered {
		if !stopped[id] {
			continue // removed, or resumed some other way
		}
		if err := g.eng.Resume(id); err != nil {
			g.log.Warn("button: resume torrent", "torrent", id, "err", err)
			continue
		}
		n++
	}
	g.savePaused(nil)
	if n == 0 {
		g.log.Info("button: short press: nothing running and nothing the button paused; nothing to do")
		return
	}
	g.log.Info("button: short press: resumed the torrents the button paused", "resumed", n)
}

func (g *gpioDaemon) loadPaused() []int64 {
	b, err := g.st.Get([]byte(pausedKey))
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			g.log.Warn("read the torrents the button paused", "err", err)
		}
		return nil
	}
	var ids []int64
	if err := json.Unmarshal(b, &ids); err != nil {
		g.log.Warn("the list of torrents the button paused is damaged; forgetting it", "err", err)
		return nil
	}
	return ids
}

func (g *gpioDaemon) savePaused(ids []int64) {
	var err error
	if len(ids) == 0 {
		err = g.st.Delete([]byte(pausedKey))
	} else {
		b, _ := json.Marshal(ids)
		err = g.st.Set([]byte(pausedKey), b)
	}
	if err != nil {
		g.log.Warn("save the torrents the button paused", "err", err)
	}
}

// openPairing is the long press: the next device that asks to pair within
// access.ButtonWindow is accepted without a code (docs/access.md).
func (g *gpioDaemon) openPairing() {
	defer g.kick()
	switch err := g.ac.ConfirmByButton(); {
	case errors.Is(err, access.ErrPairingOff):
		g.log.Warn("button: long press: pairing is turned off (access.pairing); nothing opened")
	case err != nil:
		g.log.Warn("button: long press: open pairing", "err", err)
	default:
		g.log.Info("button: long press: pairing open; the next device that asks is accepted", "for", access.ButtonWindow)
	}
}

func (g *gpioDaemon) armReset() {
	g.armed.Store(true)
	g.kick()
	g.log.Warn("button: held 10 s: press it once more, briefly, within 10 s to reset pairing and the password (no data is touched); anything else cancels")
}

func (g *gpioDaemon) cancelReset() {
	g.armed.Store(false)
	g.kick()
}

// reset is the confirmed very long press. It resets who may control the
// device, nothing else (docs/device.md): every paired device is revoked,
// pending requests are denied, the password is removed, and pairing is
// opened for access.ButtonWindow so the owner can pair a phone at once.
// Torrents, downloads, channels and the config file are untouched.
func (g *gpioDaemon) reset() {
	defer g.kick()
	defer g.armed.Store(false)
	ac := g.ac
	ac.ClosePairingWindow()
	for _, p := range ac.PendingPairings() {
		if _, err := ac.DenyPairing(p.ID); err != nil && !errors.Is(err, access.ErrNotFound) {
			g.log.Warn("button reset: deny pairing request", "request", p.ID, "err", err)
		}
	}
	revoked := 0
	for _, d := range ac.Devices() {
		if _, err := ac.Revoke(d.ID); err != nil {
			g.log.Error("button reset: revoke device", "device", d.ID, "err", err)
			continue
		}
		revoked++
	}
	hadPassword := ac.Status().PasswordSet
	if hadPassword {
		if err := ac.ClearPassword(); err != nil {
			g.log.Error("button reset: remove the password", "err", err)
		}
	}
	g.log.Warn("button: reset: paired devices revoked, password removed; torrents and data untouched",
		"revoked", revoked, "passwordRemoved", hadPassword)
	if err := ac.ConfirmByButton(); err != nil {
		// access.pairing is off: only the device itself can let anyone in now.
		g.log.Warn("button reset: pairing is turned off (access.pairing), so it was not opened; set a password on the device with \"hearth passwd\"", "err", err)
		return
	}
	g.log.Info("button reset: pairing open; pair a phone now", "for", access.ButtonWindow)
}
