package transmission

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
)

// args are a request's arguments by classic key, values still raw.
type args map[string]json.RawMessage

// call is one method call.
type call struct {
	h      *handler
	ctx    context.Context
	args   args
	method string
	style  style
}

// allow fails on any argument key not listed: an unknown key is a typo or a
// feature Hearth lacks, and doing half a request silently is worse.
func (c *call) allow(keys ...string) error {
	var unknown []string
	for k := range c.args {
		if !slices.Contains(keys, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	for i, k := range unknown {
		unknown[i] = strconv.Quote(clip(k))
	}
	return errorf("%s: unknown argument %s", c.method, strings.Join(unknown, ", "))
}

func (c *call) has(k string) bool {
	v, ok := c.args[k]
	return ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

// Typed getters: ok says the key was given (and not null); a value of the
// wrong type is an error naming the key.

func (c *call) int(k string) (int64, bool, error) {
	if !c.has(k) {
		return 0, false, nil
	}
	v, err := intValue(c.args[k])
	if err != nil {
		return 0, true, errorf("%s must be a whole number", k)
	}
	return v, true, nil
}

func intValue(raw json.RawMessage) (int64, error) {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, err
	}
	if i, err := n.Int64(); err == nil {
		return i, nil
	}
	f, err := n.Float64()
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, strconv.ErrSyntax
	}
	return int64(f), nil
}

func (c *call) float(k string) (float64, bool, error) {
	if !c.has(k) {
		return 0, false, nil
	}
	var f float64
	if err := json.Unmarshal(c.args[k], &f); err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, true, errorf("%s must be a number", k)
	}
	return f, true, nil
}

// bool accepts true/false and, as Transmission does, 0/1 and "true"/"false".
func (c *call) bool(k string) (bool, bool, error) {
	if !c.has(k) {
		return false, false, nil
	}
	raw := bytes.TrimSpace(c.args[k])
	switch string(raw) {
	case "true", "1", `"true"`:
		return true, true, nil
	case "false", "0", `"false"`:
		return false, true, nil
	}
	return false, true, errorf("%s must be true or false", k)
}

func (c *call) str(k string) (string, bool, error) {
	if !c.has(k) {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(c.args[k], &s); err != nil {
		return "", true, errorf("%s must be a string", k)
	}
	return s, true, nil
}

func (c *call) strs(k string) ([]string, bool, error) {
	if !c.has(k) {
		return nil, false, nil
	}
	var s []string
	if err := json.Unmarshal(c.args[k], &s); err != nil {
		return nil, true, errorf("%s must be a list of strings", k)
	}
	return s, true, nil
}

// indices reads a list of file indices.
func (c *call) indices(k string) ([]int, bool, error) {
	if !c.has(k) {
		return nil, false, nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(c.args[k], &raw); err != nil {
		return nil, true, errorf("%s must be a list of file numbers", k)
	}
	out := make([]int, 0, len(raw))
	for _, r := range raw {
		v, err := intValue(r)
		if err != nil || v < 0 || v > math.MaxInt32 {
			return nil, true, errorf("%s: %s is not a file number", k, clip(string(r)))
		}
		out = append(out, int(v))
	}
	return out, true, nil
}

// fixed accepts a setting Hearth cannot change when it keeps the value
// Hearth reports, and refuses any other value with why.
func (c *call) fixed(k string, current any, why string) error {
	if !c.has(k) {
		return nil
	}
	var same bool
	switch cur := current.(type) {
	case bool:
		v, _, err := c.bool(k)
		if err != nil {
			return err
		}
		same = v == cur
	case int:
		v, _, err := c.int(k)
		if err != nil {
			return err
		}
		same = v == int64(cur)
	case string:
		v, _, err := c.str(k)
		if err != nil {
			return err
		}
		same = v == cur
	}
	if same {
		return nil
	}
	return errorf("%s cannot be changed: %s", k, why)
}

// remember keeps a value set while its switch is off; recall gets it back.
func (h *handler) remember(key string, v any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.remembered) > 4096 {
		clear(h.remembered)
	}
	h.remembered[key] = v
}

func (h *handler) recall(key string) (int64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, ok := h.remembered[key].(int64)
	return v, ok
}

func (h *handler) recallString(key string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, _ := h.remembered[key].(string)
	return v
}

// knownKeys lists every classic key read from requests, so their
// snake_case forms can be mapped back (parseArgs).
var knownKeys = []string{
	// torrent methods
	"ids", "fields", "format", "delete-local-data", "location", "move", "path", "name",
	"cookies", "download-dir", "filename", "labels", "metainfo", "paused", "peer-limit",
	"bandwidthPriority", "files-wanted", "files-unwanted", "priority-high", "priority-low", "priority-normal",
	"downloadLimit", "downloadLimited", "group", "honorsSessionLimits", "queuePosition",
	"seedIdleLimit", "seedIdleMode", "seedRatioLimit", "seedRatioMode", "sequentialDownload",
	"trackerAdd", "trackerList", "trackerRemove", "trackerReplace", "uploadLimit", "uploadLimited",
	"ipProtocol",
	// session
	"alt-speed-down", "alt-speed-enabled", "alt-speed-time-begin", "alt-speed-time-day",
	"alt-speed-time-enabled", "alt-speed-time-end", "alt-speed-up", "blocklist-enabled",
	"blocklist-size", "blocklist-url", "cache-size-mb", "config-dir", "default-trackers",
	"dht-enabled", "download-dir-free-space", "download-queue-enabled", "download-queue-size",
	"encryption", "idle-seeding-limit", "idle-seeding-limit-enabled", "incomplete-dir",
	"incomplete-dir-enabled", "lpd-enabled", "peer-limit-global", "peer-limit-per-torrent",
	"peer-port", "peer-port-random-on-start", "pex-enabled", "port-forwarding-enabled",
	"queue-stalled-enabled", "queue-stalled-minutes", "rename-partial-files", "rpc-version",
	"rpc-version-minimum", "rpc-version-semver", "script-torrent-added-enabled",
	"script-torrent-added-filename", "script-torrent-done-enabled", "script-torrent-done-filename",
	"script-torrent-done-seeding-enabled", "script-torrent-done-seeding-filename",
	"seed-queue-enabled", "seed-queue-size", "seedRatioLimited", "session-id",
	"speed-limit-down", "speed-limit-down-enabled", "speed-limit-up", "speed-limit-up-enabled",
	"start-added-torrents", "trash-original-torrent-files", "units", "utp-enabled", "version",
}
