package engine

import (
	"path/filepath"
	"slices"
	"strconv"

	"github.com/hearth-media/hearth/config"
)

// Config keys of the settings added after the first ones (settingKeys).
const (
	keyIncompleteDir = "torrent.incomplete_dir"
	keyAltDown       = "limits.alt_download_kbps"
	keyAltUp         = "limits.alt_upload_kbps"
	keyAltEnabled    = "limits.alt_enabled"
	keyAltScheduled  = "limits.alt_scheduled"
	keyAltBegin      = "limits.alt_begin"
	keyAltEnd        = "limits.alt_end"
	keyAltDays       = "limits.alt_days"
	keyPeerPort      = "torrent.peer_port"
	keyEncryption    = "torrent.encryption"
)

// loadMoreSettings fills the settings beyond limits, queue and download
// folder from the config.
func (e *Engine) loadMoreSettings() error {
	c := e.cfg
	s := &e.settings
	if c.Torrent.IncompleteDir != "" {
		abs, err := filepath.Abs(c.Torrent.IncompleteDir)
		if err != nil {
			return inputErrorf("incomplete dir %q: %v", c.Torrent.IncompleteDir, err)
		}
		s.IncompleteDir = abs
	}
	s.AltDownloadKBps = c.Limits.AltDownloadKBps
	s.AltUploadKBps = c.Limits.AltUploadKBps
	s.AltEnabled = c.Limits.AltEnabled
	s.AltScheduled = c.Limits.AltScheduled
	s.AltBegin = c.Limits.AltBegin
	s.AltEnd = c.Limits.AltEnd
	s.AltDays = c.Limits.AltDays
	s.PeerPort = c.Torrent.PeerPort
	s.Encryption = c.Torrent.Encryption
	if s.Encryption == "" {
		s.Encryption = "prefer"
	}
	return nil
}

// checkMore validates the newer fields of a patch and adds their config
// values to kv.
func (p SettingsPatch) checkMore(kv map[string]string) error {
	if p.IncompleteDir != nil {
		d, err := absDir(*p.IncompleteDir)
		if err != nil {
			return inputErrorf("incomplete folder %q must be an absolute path (or empty to turn it off)", *p.IncompleteDir)
		}
		kv[keyIncompleteDir] = d
	}
	for _, f := range []struct {
		v    *int
		key  string
		name string
	}{{p.AltDownloadKBps, keyAltDown, "alternative download limit"}, {p.AltUploadKBps, keyAltUp, "alternative upload limit"}} {
		if f.v == nil {
			continue
		}
		if *f.v < 0 {
			return inputErrorf("%s %d KB/s: must be 0 (unlimited) or more", f.name, *f.v)
		}
		kv[f.key] = strconv.Itoa(*f.v)
	}
	if p.AltEnabled != nil {
		kv[keyAltEnabled] = strconv.FormatBool(*p.AltEnabled)
	}
	if p.AltScheduled != nil {
		kv[keyAltScheduled] = strconv.FormatBool(*p.AltScheduled)
	}
	for _, f := range []struct {
		v    *string
		key  string
		name string
	}{{p.AltBegin, keyAltBegin, "alternative limits begin"}, {p.AltEnd, keyAltEnd, "alternative limits end"}} {
		if f.v == nil {
			continue
		}
		if _, err := config.ParseClock(*f.v); err != nil {
			return inputErrorf("%s: %v", f.name, err)
		}
		kv[f.key] = *f.v
	}
	if p.AltDays != nil {
		mask, err := config.ParseDays(*p.AltDays)
		if err != nil {
			return inputErrorf("alternative limits days: %v", err)
		}
		if mask == 0 {
			return inputErrorf("alternative limits days: no day given")
		}
		kv[keyAltDays] = *p.AltDays
	}
	if p.PeerPort != nil {
		if *p.PeerPort < 0 || *p.PeerPort > 65535 {
			return inputErrorf("peer port %d: want 0 (any free port) to 65535", *p.PeerPort)
		}
		kv[keyPeerPort] = strconv.Itoa(*p.PeerPort)
	}
	if p.Encryption != nil {
		switch *p.Encryption {
		case "prefer", "require", "tolerate":
		default:
			return inputErrorf("encryption %q: want prefer, require or tolerate", *p.Encryption)
		}
		kv[keyEncryption] = *p.Encryption
	}
	return nil
}

// applyMore applies the newer fields of a saved patch. Called with e.mu held.
func (e *Engine) applyMore(p SettingsPatch, kv map[string]string) {
	s := &e.settings
	if p.IncompleteDir != nil {
		s.IncompleteDir = kv[keyIncompleteDir]
	}
	if p.AltDownloadKBps != nil {
		s.AltDownloadKBps = *p.AltDownloadKBps
	}
	if p.AltUploadKBps != nil {
		s.AltUploadKBps = *p.AltUploadKBps
	}
	if p.AltEnabled != nil {
		s.AltEnabled = *p.AltEnabled
	}
	if p.AltBegin != nil {
		s.AltBegin = *p.AltBegin
	}
	if p.AltEnd != nil {
		s.AltEnd = *p.AltEnd
	}
	if p.AltDays != nil {
		s.AltDays = *p.AltDays
	}
	if p.AltScheduled != nil {
		s.AltScheduled = *p.AltScheduled
	}
	if p.PeerPort != nil {
		s.PeerPort = *p.PeerPort
	}
	if p.Encryption != nil {
		s.Encryption = *p.Encryption
	}
	// A change to the schedule applies it at once, as in Transmission,
	// unless the same patch switches the limits explicitly: then that
	// switch holds until the schedule's next begin or end.
	if p.AltScheduled != nil || p.AltBegin != nil || p.AltEnd != nil || p.AltDays != nil {
		now := e.now()
		if p.AltEnabled == nil {
			e.alt.known = false
			e.altTick(now)
		} else if begin, end, days, ok := e.altSchedule(); ok {
			e.alt = altState{known: true, boundary: lastAltBoundary(begin, end, days, now)}
		}
	}
}

// settingsView is the settings as the API shows them. Called with e.mu held.
func (e *Engine) settingsView() Settings {
	s := e.settings
	s.PendingRestart = nil
	if s.PeerPort != e.cfg.Torrent.PeerPort {
		s.PendingRestart = append(s.PendingRestart, "peerPort")
	}
	running := e.cfg.Torrent.Encryption
	if running == "" {
		running = "prefer"
	}
	if s.Encryption != running {
		s.PendingRestart = append(s.PendingRestart, "encryption")
	}
	slices.Sort(s.PendingRestart)
	return s
}
