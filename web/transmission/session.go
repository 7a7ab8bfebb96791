package transmission

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/engine"
)

// RPC versions: the classic names of rpc-version 17 (Transmission 4.0),
// which the remotes people use speak; 4.1's snake_case is accepted too.
const (
	rpcVersion        = 17
	rpcVersionMinimum = 14
	rpcVersionSemver  = "5.3.0"
	// transmissionVersion is the Transmission release whose RPC (17) Hearth
	// speaks. session-get's "version" starts with it, then names Hearth:
	// Sonarr, Radarr and the other *arr apps parse the first number there
	// and refuse a daemon below 2.40.
	transmissionVersion = "4.0.0"
)

// Fixed values of settings Hearth does not have.
const (
	queueStalledMinutes = 30
)

var encryptionNames = map[string]string{"require": "required", "prefer": "preferred", "tolerate": "tolerated"}

func clockMinutes(s string) int {
	m, err := config.ParseClock(s)
	if err != nil {
		return 0
	}
	return m
}

func dayMask(s string) int {
	m, err := config.ParseDays(s)
	if err != nil {
		return 0
	}
	return m
}

// noGlobalLimit is peer-limit-global when nothing bounds it.
const noGlobalLimit = 9999

// peerLimitGlobal: Hearth limits peers per torrent; the most it can have
// is that times the torrents allowed to run at once, with no bound when
// the queue is unlimited.
func (h *handler) peerLimitGlobal(s engine.Settings) int {
	if s.MaxDownloads > 0 && s.MaxSeeds > 0 {
		return h.cfg.Torrent.ConnsPerTorrent * (s.MaxDownloads + s.MaxSeeds)
	}
	return noGlobalLimit
}

// shown returns a setting kept as one number (0 = off) as Transmission's
// value and switch: an off setting shows the value a client last set.
func (h *handler) shown(v int64, key string) (int64, bool) {
	if v > 0 {
		return v, true
	}
	r, _ := h.recall(key)
	return r, false
}

// sessionValues are session-get's keys and values.
func (h *handler) sessionValues() map[string]any {
	s := h.eng.Settings()
	st := h.eng.Stats()
	down, downOn := h.shown(int64(s.DownloadKBps), "session/speed-limit-down")
	up, upOn := h.shown(int64(s.UploadKBps), "session/speed-limit-up")
	dq, dqOn := h.shown(int64(s.MaxDownloads), "session/download-queue-size")
	sq, sqOn := h.shown(int64(s.MaxSeeds), "session/seed-queue-size")
	idle, idleOn := h.shown(int64(s.SeedIdle/time.Minute), "session/idle-seeding-limit")
	ratio := s.SeedRatio
	if ratio <= 0 {
		if r, ok := h.recall("session/seedRatioLimit"); ok {
			ratio = float64(r) / 1000
		}
	}
	inc := s.IncompleteDir
	if inc == "" {
		inc = h.recallString("session/incomplete-dir")
	}
	port := s.PeerPort
	if port == 0 {
		port = st.PeerPort
	}
	free := int64(-1)
	if f, _, err := statfs(s.DownloadDir); err == nil {
		free = f
	}
	version := h.version
	if version == "" {
		version = "dev"
	}
	m := map[string]any{
		"alt-speed-down":                       s.AltDownloadKBps,
		"alt-speed-enabled":                    s.AltEnabled,
		"alt-speed-time-begin":                 clockMinutes(s.AltBegin),
		"alt-speed-time-day":                   dayMask(s.AltDays),
		"alt-speed-time-enabled":               s.AltScheduled,
		"alt-speed-time-end":                   clockMinutes(s.AltEnd),
		"alt-speed-up":                         s.AltUploadKBps,
		"blocklist-enabled":                    false,
		"blocklist-size":                       0,
		"blocklist-url":                        "",
		"cache-size-mb":                        0,
		"config-dir":                           h.cfg.DataDir,
		"default-trackers":                     "",
		"dht-enabled":                          h.cfg.Torrent.DHT,
		"download-dir":                         s.DownloadDir,
		"download-dir-free-space":              free,
		"download-queue-enabled":               dqOn,
		"download-queue-size":                  dq,
		"encryption":                           encryptionNames[s.Encryption],
		"idle-seeding-limit":                   idle,
		"idle-seeding-limit-enabled":           idleOn,
		"incomplete-dir":                       inc,
		"incomplete-dir-enabled":               s.IncompleteDir != "",
		"lpd-enabled":                          false,
		"peer-limit-global":                    h.peerLimitGlobal(s),
		"peer-limit-per-torrent":               h.cfg.Torrent.ConnsPerTorrent,
		"peer-port":                            port,
		"peer-port-random-on-start":            s.PeerPort == 0,
		"pex-enabled":                          true,
		"port-forwarding-enabled":              h.cfg.Torrent.PortForwarding,
		"queue-stalled-enabled":                false,
		"queue-stalled-minutes":                queueStalledMinutes,
		"rename-partial-files":                 false,
		"rpc-version":                          rpcVersion,
		"rpc-version-minimum":                  rpcVersionMinimum,
		"rpc-version-semver":                   rpcVersionSemver,
		"script-torrent-added-enabled":         false,
		"script-torrent-added-filename":        "",
		"script-torrent-done-enabled":          false,
		"script-torrent-done-filename":         "",
		"script-torrent-done-seeding-enabled":  false,
		"script-torrent-done-seeding-filename": "",
		"seed-queue-enabled":                   sqOn,
		"seed-queue-size":                      sq,
		"seedRatioLimit":                       finite(ratio),
		"seedRatioLimited":                     s.SeedRatio > 0,
		"session-id":                           h.sessionID,
		"speed-limit-down":                     down,
		"speed-limit-down-enabled":             downOn,
		"speed-limit-up":                       up,
		"speed-limit-up-enabled":               upOn,
		"start-added-torrents":                 true,
		"trash-original-torrent-files":         false,
		"units": map[string]any{
			"speed-units":  []string{"kB/s", "MB/s", "GB/s", "TB/s"},
			"speed-bytes":  1000,
			"size-units":   []string{"kB", "MB", "GB", "TB"},
			"size-bytes":   1000,
			"memory-units": []string{"KiB", "MiB", "GiB", "TiB"},
			"memory-bytes": 1024,
		},
		"utp-enabled": h.cfg.Torrent.UTP,
		"version":     transmissionVersion + " (hearth " + version + ")",
	}
	if len(s.PendingRestart) > 0 {
		// Not Transmission's: saved settings that apply after a restart.
		m["hearth-pending-restart"] = pendingNames(s.PendingRestart)
	}
	return m
}

// pendingNames are the RPC's names of the engine's settings awaiting a restart.
func pendingNames(engineNames []string) []string {
	out := make([]string, 0, len(engineNames))
	for _, n := range engineNames {
		if n == "peerPort" {
			n = "peer-port"
		}
		out = append(out, n)
	}
	return out
}

// sessionFieldName maps session-get field names (either naming) to classic.
func sessionFieldName(f string, values map[string]any) (string, bool) {
	if _, ok := values[f]; ok {
		return f, true
	}
	for k := range values {
		if snakeName(k) == f {
			return k, true
		}
	}
	return "", false
}

func sessionGet(c *call) (map[string]any, error) {
	if err := c.allow("fields"); err != nil {
		return nil, err
	}
	fields, ok, err := c.strs("fields")
	if err != nil {
		return nil, err
	}
	all := c.h.sessionValues()
	if !ok || len(fields) == 0 {
		return all, nil
	}
	out := map[string]any{}
	for _, f := range fields {
		if k, ok := sessionFieldName(f, all); ok {
			out[k] = all[k]
		}
	}
	return out, nil
}

// readOnlySession are session-get keys a session-set may carry back; they
// are ignored, as Transmission does.
var readOnlySession = []string{"blocklist-size", "config-dir", "download-dir-free-space", "rpc-version",
	"rpc-version-minimum", "rpc-version-semver", "session-id", "units", "version", "hearth-pending-restart"}

func sessionSet(c *call) (map[string]any, error) {
	h := c.h
	s := h.eng.Settings()
	st := h.eng.Stats()
	values := h.sessionValues()
	keys := append([]string{}, readOnlySession...)
	for k := range values {
		keys = append(keys, k)
	}
	if err := c.allow(keys...); err != nil {
		return nil, err
	}
	cfgWhy := func(key string) string {
		return "set torrent." + key + " in Hearth's config file and restart"
	}
	for _, err := range []error{
		c.fixed("blocklist-enabled", false, "Hearth has no blocklists"),
		c.fixed("blocklist-url", "", "Hearth has no blocklists"),
		c.fixed("cache-size-mb", 0, "Hearth has no disk cache setting"),
		c.fixed("default-trackers", "", "Hearth adds no default trackers"),
		c.fixed("dht-enabled", h.cfg.Torrent.DHT, cfgWhy("dht")),
		c.fixed("lpd-enabled", false, "Hearth has no local peer discovery (it would announce every torrent to the whole LAN)"),
		c.fixed("pex-enabled", true, "peer exchange is always on"),
		c.fixed("port-forwarding-enabled", h.cfg.Torrent.PortForwarding, cfgWhy("port_forwarding")),
		c.fixed("utp-enabled", h.cfg.Torrent.UTP, cfgWhy("utp")),
		c.fixed("peer-limit-global", h.peerLimitGlobal(s), "Hearth limits peers per torrent (torrent.conns_per_torrent)"),
		c.fixed("peer-limit-per-torrent", h.cfg.Torrent.ConnsPerTorrent, cfgWhy("conns_per_torrent")),
		c.fixed("queue-stalled-enabled", false, "Hearth does not skip stalled torrents in the queue"),
		c.fixed("queue-stalled-minutes", queueStalledMinutes, "Hearth does not skip stalled torrents in the queue"),
		c.fixed("rename-partial-files", false, "Hearth writes files under their own names"),
		c.fixed("script-torrent-added-enabled", false, "Hearth runs no scripts"),
		c.fixed("script-torrent-added-filename", "", "Hearth runs no scripts"),
		c.fixed("script-torrent-done-enabled", false, "Hearth runs no scripts"),
		c.fixed("script-torrent-done-filename", "", "Hearth runs no scripts"),
		c.fixed("script-torrent-done-seeding-enabled", false, "Hearth runs no scripts"),
		c.fixed("script-torrent-done-seeding-filename", "", "Hearth runs no scripts"),
		c.fixed("start-added-torrents", true, "Hearth starts added torrents unless torrent-add says paused"),
		c.fixed("trash-original-torrent-files", false, "Hearth does not delete .torrent files"),
	} {
		if err != nil {
			return nil, err
		}
	}
	var p engine.SettingsPatch
	setInt := func(dst **int, v int64) { n := int(v); *dst = &n }
	for _, l := range []struct {
		val, on string
		cur     int
		dst     **int
	}{
		{"speed-limit-down", "speed-limit-down-enabled", s.DownloadKBps, &p.DownloadKBps},
		{"speed-limit-up", "speed-limit-up-enabled", s.UploadKBps, &p.UploadKBps},
		{"download-queue-size", "download-queue-enabled", s.MaxDownloads, &p.MaxDownloads},
		{"seed-queue-size", "seed-queue-enabled", s.MaxSeeds, &p.MaxSeeds},
	} {
		v, changed, err := c.limitPair(l.val, l.on, int64(l.cur), "session/"+l.val)
		if err != nil {
			return nil, err
		}
		if changed {
			setInt(l.dst, v)
		}
	}
	idle, changed, err := c.limitPair("idle-seeding-limit", "idle-seeding-limit-enabled", int64(s.SeedIdle/time.Minute), "session/idle-seeding-limit")
	if err != nil {
		return nil, err
	}
	if changed {
		d := time.Duration(idle) * time.Minute
		p.SeedIdle = &d
	}
	if err := c.sessionRatio(s, &p); err != nil {
		return nil, err
	}
	if err := c.sessionIncomplete(s, &p); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		key string
		dst **int
	}{{"alt-speed-down", &p.AltDownloadKBps}, {"alt-speed-up", &p.AltUploadKBps}} {
		v, ok, err := c.int(f.key)
		if err != nil {
			return nil, err
		}
		if ok {
			if v < 0 || v > 1<<31 {
				return nil, errorf("%s must be 0 or more (KB/s)", f.key)
			}
			setInt(f.dst, v)
		}
	}
	for _, f := range []struct {
		key string
		dst **bool
	}{{"alt-speed-enabled", &p.AltEnabled}, {"alt-speed-time-enabled", &p.AltScheduled}} {
		v, ok, err := c.bool(f.key)
		if err != nil {
			return nil, err
		}
		if ok {
			*f.dst = &v
		}
	}
	for _, f := range []struct {
		key string
		dst **string
	}{{"alt-speed-time-begin", &p.AltBegin}, {"alt-speed-time-end", &p.AltEnd}} {
		v, ok, err := c.int(f.key)
		if err != nil {
			return nil, err
		}
		if ok {
			if v < 0 || v >= 24*60 {
				return nil, errorf("%s must be minutes after midnight, 0 to 1439", f.key)
			}
			hm := fmt.Sprintf("%02d:%02d", v/60, v%60)
			*f.dst = &hm
		}
	}
	if v, ok, err := c.int("alt-speed-time-day"); err != nil {
		return nil, err
	} else if ok {
		if v < 1 || v > 127 {
			return nil, errorf("alt-speed-time-day must be a day mask from 1 to 127 (Sunday = 1, Monday = 2, … Saturday = 64)")
		}
		d := config.FormatDays(int(v))
		p.AltDays = &d
	}
	if v, ok, err := c.str("download-dir"); err != nil {
		return nil, err
	} else if ok {
		if !filepath.IsAbs(v) {
			return nil, errorf("download-dir %q must be an absolute path", clip(v))
		}
		p.DownloadDir = &v
	}
	if v, ok, err := c.str("encryption"); err != nil {
		return nil, err
	} else if ok {
		var e string
		for k, name := range encryptionNames {
			if v == name || v == k {
				e = k
			}
		}
		if e == "" {
			return nil, errorf("encryption %q: want required, preferred or tolerated", clip(v))
		}
		if e != s.Encryption {
			p.Encryption = &e
		}
	}
	if err := c.sessionPort(s, st, &p); err != nil {
		return nil, err
	}
	if p == (engine.SettingsPatch{}) {
		return nil, nil
	}
	after, err := h.eng.SetSettings(p)
	if err != nil {
		return nil, err
	}
	if (p.PeerPort != nil || p.Encryption != nil) && len(after.PendingRestart) > 0 {
		return map[string]any{"hearth-note": "saved; " + strings.Join(pendingNames(after.PendingRestart), " and ") + " will apply after the daemon restarts"}, nil
	}
	return nil, nil
}

func (c *call) sessionRatio(s engine.Settings, p *engine.SettingsPatch) error {
	v, hasV, err := c.float("seedRatioLimit")
	if err != nil {
		return err
	}
	on, hasOn, err := c.bool("seedRatioLimited")
	if err != nil {
		return err
	}
	if hasV && v < 0 {
		return errorf("seedRatioLimit must be 0 or more")
	}
	const key = "session/seedRatioLimit"
	var r float64
	switch {
	case hasOn && !on:
		if hasV {
			c.h.remember(key, int64(v*1000))
		}
		p.SeedRatio = &r
	case hasOn && on:
		r = v
		if !hasV {
			r = s.SeedRatio
			if rv, ok := c.h.recall(key); ok && r <= 0 {
				r = float64(rv) / 1000
			}
		}
		if r <= 0 {
			return errorf("seedRatioLimit: a limit of 0 with seedRatioLimited on would stop seeding at once; turn seedRatioLimited off to seed without a limit")
		}
		p.SeedRatio = &r
	case hasV && s.SeedRatio > 0:
		if v == 0 {
			return errorf("seedRatioLimit 0 would stop seeding at once; turn seedRatioLimited off instead")
		}
		r = v
		p.SeedRatio = &r
	case hasV:
		c.h.remember(key, int64(v*1000))
	}
	return nil
}

func (c *call) sessionIncomplete(s engine.Settings, p *engine.SettingsPatch) error {
	dir, hasDir, err := c.str("incomplete-dir")
	if err != nil {
		return err
	}
	on, hasOn, err := c.bool("incomplete-dir-enabled")
	if err != nil {
		return err
	}
	if hasDir && dir != "" && !filepath.IsAbs(dir) {
		return errorf("incomplete-dir %q must be an absolute path", clip(dir))
	}
	const key = "session/incomplete-dir"
	switch {
	case hasOn && !on:
		if hasDir && dir != "" {
			c.h.remember(key, dir)
		} else if s.IncompleteDir != "" {
			c.h.remember(key, s.IncompleteDir)
		}
		off := ""
		p.IncompleteDir = &off
	case hasOn && on:
		d := dir
		if d == "" {
			d = s.IncompleteDir
		}
		if d == "" {
			d = c.h.recallString(key)
		}
		if d == "" {
			return errorf("incomplete-dir-enabled needs incomplete-dir, the folder to use")
		}
		p.IncompleteDir = &d
	case hasDir && s.IncompleteDir != "":
		if dir == "" {
			return errorf("incomplete-dir is empty: turn incomplete-dir-enabled off instead")
		}
		p.IncompleteDir = &dir
	case hasDir:
		c.h.remember(key, dir)
	}
	return nil
}

func (c *call) sessionPort(s engine.Settings, st engine.Stats, p *engine.SettingsPatch) error {
	port, hasPort, err := c.int("peer-port")
	if err != nil {
		return err
	}
	random, hasRandom, err := c.bool("peer-port-random-on-start")
	if err != nil {
		return err
	}
	if hasPort && (port < 1 || port > 65535) {
		return errorf("peer-port must be 1 to 65535")
	}
	target := s.PeerPort
	if hasPort && !(s.PeerPort == 0 && int(port) == st.PeerPort) {
		target = int(port) // the live port of a random-port daemon is no change
	}
	if hasRandom {
		switch {
		case random:
			target = 0
		case target == 0 && hasPort:
			target = int(port)
		case target == 0:
			target = st.PeerPort
		}
	}
	if target != s.PeerPort {
		p.PeerPort = &target
	}
	return nil
}

func sessionStats(c *call) (map[string]any, error) {
	if err := c.allow(); err != nil {
		return nil, err
	}
	st := c.h.eng.Stats()
	list, err := c.h.lists.Get(c.ctx)
	if err != nil {
		return nil, &rpcErr{code: codeServer, msg: "request cancelled while waiting for the list"}
	}
	active, paused := 0, 0
	for _, t := range list {
		switch t.State {
		case engine.StateStopped, engine.StateError:
			paused++
		case engine.StateDownloading, engine.StateSeeding, engine.StateChecking, engine.StateMetadata, engine.StateMoving:
			active++
		}
	}
	return map[string]any{
		"activeTorrentCount": active,
		"pausedTorrentCount": paused,
		"torrentCount":       len(list),
		"downloadSpeed":      st.DownRate,
		"uploadSpeed":        st.UpRate,
		"current-stats": map[string]any{
			"uploadedBytes": st.Uploaded, "downloadedBytes": st.Downloaded, "filesAdded": 0,
			"sessionCount": 1, "secondsActive": int64(st.Uptime / time.Second),
		},
		"cumulative-stats": map[string]any{
			"uploadedBytes": st.Total.Uploaded, "downloadedBytes": st.Total.Downloaded, "filesAdded": 0,
			"sessionCount": st.Total.Sessions, "secondsActive": int64(st.Total.Active / time.Second),
		},
	}, nil
}

func sessionClose(c *call) (map[string]any, error) {
	if err := c.allow(); err != nil {
		return nil, err
	}
	if c.h.shutdown == nil {
		return nil, errorf("session-close is not available here: stop the daemon through its service manager")
	}
	c.h.log.Info("session-close: the daemon stops at a remote's request")
	return nil, nil
}

func freeSpace(c *call) (map[string]any, error) {
	if err := c.allow("path"); err != nil {
		return nil, err
	}
	p, ok, err := c.str("path")
	if err != nil {
		return nil, err
	}
	if !ok || !filepath.IsAbs(p) {
		return nil, errorf("free-space needs path, an absolute folder path")
	}
	free, total, err := statfs(p)
	if err != nil {
		return nil, errorf("free-space %s: %v", p, err)
	}
	return map[string]any{"path": p, "size-bytes": free, "total_size": total}, nil
}

func portTest(c *call) (map[string]any, error) {
	if err := c.allow("ipProtocol"); err != nil {
		return nil, err
	}
	return nil, errorf("port-test is not supported: telling whether peer port %d is open from the internet needs an outside test service, and Hearth contacts none", c.h.eng.Stats().PeerPort)
}

func blocklistUpdate(c *call) (map[string]any, error) {
	return nil, errorf("blocklist-update is not supported: Hearth has no blocklists")
}

func groupGet(c *call) (map[string]any, error) {
	if err := c.allow("group"); err != nil {
		return nil, err
	}
	return map[string]any{"group": []any{}}, nil
}

func groupSet(c *call) (map[string]any, error) {
	return nil, errorf("group-set is not supported: Hearth has no bandwidth groups")
}
