package transmission

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-media/hearth/engine"
)

// recentWindow is how far back "recently-active" looks, as in Transmission.
const recentWindow = 60 * time.Second

// selection is what an "ids" argument names.
type selection struct {
	all    bool // no ids: every torrent
	recent bool // "recently-active"
	ids    []int64
	hashes []string // lower-case hex
}

// ids parses the "ids" argument: absent for all torrents, a number, a
// hash, "recently-active", or a list of numbers and hashes.
func (c *call) ids() (selection, error) {
	if !c.has("ids") {
		return selection{all: true}, nil
	}
	raw := bytes.TrimSpace(c.args["ids"])
	var sel selection
	add := func(r json.RawMessage, inList bool) error {
		r = bytes.TrimSpace(r)
		if len(r) > 0 && r[0] == '"' {
			var s string
			if err := json.Unmarshal(r, &s); err != nil {
				return errorf("ids: bad string")
			}
			if !inList && (s == "recently-active" || s == "recently_active") {
				sel.recent = true
				return nil
			}
			h := strings.ToLower(s)
			if b, err := hex.DecodeString(h); err != nil || len(b) != 20 {
				return errorf("ids: %q is not a torrent id or a 40-character info hash", clip(s))
			}
			sel.hashes = append(sel.hashes, h)
			return nil
		}
		v, err := intValue(r)
		if err != nil {
			return errorf("ids: want torrent ids, info hashes or \"recently-active\", not %s", clip(string(r)))
		}
		sel.ids = append(sel.ids, v)
		return nil
	}
	if len(raw) > 0 && raw[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return sel, errorf("ids: %s", jsonMsg(err))
		}
		for _, r := range list {
			if err := add(r, true); err != nil {
				return sel, err
			}
		}
		return sel, nil
	}
	return sel, add(raw, false)
}

// torrents resolves a selection, in queue order. strict (the methods that
// change things) fails when any named torrent is missing, so nothing
// changes; otherwise missing ones are skipped unless none is found. Named
// torrents are built alone (Engine.ListOf): a remote polling the few it
// shows must not cost a list of all.
func (c *call) torrents(sel selection, strict bool) ([]engine.Torrent, error) {
	if sel.all || sel.recent {
		list, err := c.h.lists.Get(c.ctx)
		if err != nil {
			return nil, &rpcErr{code: codeServer, msg: "request cancelled while waiting for the list"}
		}
		if sel.all {
			return list, nil
		}
		now := time.Now()
		var out []engine.Torrent
		for _, t := range list {
			if recentlyActive(t, now) {
				out = append(out, t)
			}
		}
		return out, nil
	}
	ids := slices.Clone(sel.ids)
	var missing []string
	for _, h := range sel.hashes {
		if id, err := c.h.eng.Resolve(h); err == nil {
			ids = append(ids, id)
		} else {
			missing = append(missing, h)
		}
	}
	out := c.h.eng.ListOf(ids)
	found := make(map[int64]bool, len(out))
	for _, t := range out {
		found[t.ID] = true
	}
	var missingIDs []string
	for _, id := range sel.ids {
		if !found[id] {
			missingIDs = append(missingIDs, strconv.FormatInt(id, 10))
		}
	}
	missing = append(missingIDs, missing...)
	if len(missing) > 0 && (strict || len(out) == 0) {
		if len(missing) == 1 {
			return nil, errorf("torrent %s not found", missing[0])
		}
		return nil, errorf("torrents %s not found", strings.Join(missing, ", "))
	}
	return out, nil
}

// recentlyActive: running, or started, changed, finished or active in the
// last minute.
func recentlyActive(t engine.Torrent, now time.Time) bool {
	switch t.State {
	case engine.StateDownloading, engine.StateSeeding, engine.StateChecking, engine.StateMetadata, engine.StateMoving:
		return true
	}
	for _, at := range []time.Time{t.AddedAt, t.DoneAt, t.LastActivity, t.EditedAt, t.StartedAt} {
		if now.Sub(at) < recentWindow {
			return true
		}
	}
	return false
}
