package engine

import (
	"strconv"
	"time"

	"github.com/hearth-media/hearth/config"
)

// altState remembers the last schedule boundary (a begin or an end) the
// engine acted on: the schedule switches the limits only when a new one
// passes, so a user's switch holds until then. Comparing boundaries rather
// than "inside or not" also catches a begin and an end that both passed
// while the device was off or the clock jumped.
type altState struct {
	known    bool
	boundary time.Time
}

const (
	minutesPerDay  = 24 * 60
	minutesPerWeek = 7 * minutesPerDay
)

// inAltWindow says whether local time now is inside the schedule: from
// begin to end (minutes after midnight) on each day of the mask (bit i =
// time.Weekday(i)). An end at or before the begin runs past midnight into
// the next day, as in Transmission.
func inAltWindow(begin, end, days int, now time.Time) bool {
	m := int(now.Weekday())*minutesPerDay + now.Hour()*60 + now.Minute()
	length := end - begin
	if length <= 0 {
		length += minutesPerDay
	}
	for d := range 7 {
		if days&(1<<d) == 0 {
			continue
		}
		start := d*minutesPerDay + begin
		if ((m-start)%minutesPerWeek+minutesPerWeek)%minutesPerWeek < length {
			return true
		}
	}
	return false
}

// lastAltBoundary is the latest begin or end of the schedule at or
// before now (zero if there is none in the past week).
func lastAltBoundary(begin, end, days int, now time.Time) time.Time {
	length := end - begin
	if length <= 0 {
		length += minutesPerDay
	}
	var best time.Time
	y, m, d := now.Date()
	for back := range 9 {
		start := time.Date(y, m, d-back, begin/60, begin%60, 0, 0, now.Location())
		if days&(1<<start.Weekday()) == 0 {
			continue
		}
		stop := start.Add(time.Duration(length) * time.Minute)
		for _, b := range []time.Time{start, stop} {
			if !b.After(now) && b.After(best) {
				best = b
			}
		}
	}
	return best
}

// altSchedule parses the schedule of the current settings.
func (e *Engine) altSchedule() (begin, end, days int, ok bool) {
	s := e.settings
	begin, err1 := config.ParseClock(s.AltBegin)
	end, err2 := config.ParseClock(s.AltEnd)
	days, err3 := config.ParseDays(s.AltDays)
	return begin, end, days, err1 == nil && err2 == nil && err3 == nil // config.Validate and SetSettings keep them valid
}

// altTick switches the alternative limits when a begin or end of the
// schedule passes. Called with e.mu held.
func (e *Engine) altTick(now time.Time) {
	if !e.settings.AltScheduled {
		e.alt.known = false
		return
	}
	begin, end, days, ok := e.altSchedule()
	if !ok {
		return
	}
	b := lastAltBoundary(begin, end, days, now)
	if e.alt.known && b.Equal(e.alt.boundary) {
		return
	}
	e.alt = altState{known: true, boundary: b}
	in := inAltWindow(begin, end, days, now)
	if e.settings.AltEnabled == in {
		return
	}
	e.settings.AltEnabled = in
	if err := e.saveRuntime(map[string]string{keyAltEnabled: strconv.FormatBool(in)}); err != nil {
		e.log.Error("save alternative limits switch", "err", err)
	}
	e.applyLimits()
	e.log.Info("alternative speed limits switched by schedule", "on", in)
}

// applyLimits sets the global limiters from the settings: the alternative
// limits while they are on. Called with e.mu held.
func (e *Engine) applyLimits() {
	down, up := e.settings.effectiveKBps()
	e.downLim.SetLimit(kbpsLimit(down))
	e.upLim.SetLimit(kbpsLimit(up))
}

// effectiveKBps returns the global limits in force (KB/s, 0 = unlimited).
func (s Settings) effectiveKBps() (down, up int) {
	if s.AltEnabled {
		return s.AltDownloadKBps, s.AltUploadKBps
	}
	return s.DownloadKBps, s.UploadKBps
}
