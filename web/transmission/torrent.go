package transmission

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/channel"
	"github.com/hearth-media/hearth/engine/link"
)

// methods are the RPC methods by classic name.
var methods map[string]func(*call) (map[string]any, error)

func init() {
	methods = map[string]func(*call) (map[string]any, error){
		"torrent-get":          torrentGet,
		"torrent-add":          torrentAdd,
		"torrent-set":          torrentSet,
		"torrent-remove":       torrentRemove,
		"torrent-start":        action(Engine.Resume),
		"torrent-start-now":    action(Engine.StartNow),
		"torrent-stop":         action(Engine.Pause),
		"torrent-verify":       action(Engine.Verify),
		"torrent-reannounce":   action(Engine.Reannounce),
		"torrent-set-location": torrentSetLocation,
		"torrent-rename-path":  torrentRenamePath,
		"queue-move-top":       queueMove(moveTop),
		"queue-move-up":        queueMove(moveUp),
		"queue-move-down":      queueMove(moveDown),
		"queue-move-bottom":    queueMove(moveBottom),
		"session-get":          sessionGet,
		"session-set":          sessionSet,
		"session-stats":        sessionStats,
		"session-close":        sessionClose,
		"free-space":           freeSpace,
		"port-test":            portTest,
		"blocklist-update":     blocklistUpdate,
		"group-get":            groupGet,
		"group-set":            groupSet,
	}
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }

// action applies a one-torrent operation to the selected torrents. A
// torrent that fails does not stop the others; the first failure is
// answered.
func action(op func(Engine, int64) error) func(*call) (map[string]any, error) {
	return func(c *call) (map[string]any, error) {
		if err := c.allow("ids"); err != nil {
			return nil, err
		}
		sel, err := c.ids()
		if err != nil {
			return nil, err
		}
		list, err := c.torrents(sel, true)
		if err != nil {
			return nil, err
		}
		named := !sel.all && !sel.recent
		var first error
		for _, t := range list {
			if c.method == "torrent-verify" && !t.HasMetadata && !named {
				continue // nothing to verify yet; Transmission skips it too
			}
			if err := op(c.h.eng, t.ID); err != nil && first == nil {
				first = fmt.Errorf("torrent %d: %w", t.ID, err)
			}
		}
		return nil, first
	}
}

func torrentRemove(c *call) (map[string]any, error) {
	if err := c.allow("ids", "delete-local-data"); err != nil {
		return nil, err
	}
	del, _, err := c.bool("delete-local-data")
	if err != nil {
		return nil, err
	}
	sel, err := c.ids()
	if err != nil {
		return nil, err
	}
	list, err := c.torrents(sel, true)
	if err != nil {
		return nil, err
	}
	var first error
	for _, t := range list {
		if err := c.h.eng.Remove(t.ID, del); err != nil && first == nil {
			first = fmt.Errorf("torrent %d: %w", t.ID, err)
		}
	}
	return nil, first
}

func torrentSetLocation(c *call) (map[string]any, error) {
	if err := c.allow("ids", "location", "move"); err != nil {
		return nil, err
	}
	loc, ok, err := c.str("location")
	if err != nil {
		return nil, err
	}
	if !ok || !filepath.IsAbs(loc) {
		return nil, errorf("location must be an absolute folder path")
	}
	move, _, err := c.bool("move")
	if err != nil {
		return nil, err
	}
	sel, err := c.ids()
	if err != nil {
		return nil, err
	}
	list, err := c.torrents(sel, true)
	if err != nil {
		return nil, err
	}
	for _, t := range list {
		if err := c.h.eng.SetLocation(t.ID, loc, move); err != nil {
			return nil, fmt.Errorf("torrent %d: %w", t.ID, err)
		}
	}
	return nil, nil
}

func torrentRenamePath(c *call) (map[string]any, error) {
	if err := c.allow("ids", "path", "name"); err != nil {
		return nil, err
	}
	p, okP, err := c.str("path")
	if err != nil {
		return nil, err
	}
	name, okN, err := c.str("name")
	if err != nil {
		return nil, err
	}
	if !okP || !okN {
		return nil, errorf("torrent-rename-path needs path and name")
	}
	sel, err := c.ids()
	if err != nil {
		return nil, err
	}
	list, err := c.torrents(sel, true)
	if err != nil {
		return nil, err
	}
	if len(list) != 1 || sel.all || sel.recent {
		return nil, errorf("torrent-rename-path works on exactly one torrent: give its id in ids")
	}
	id := list[0].ID
	if err := c.h.eng.RenamePath(id, p, name); err != nil {
		return nil, err
	}
	return map[string]any{"path": p, "name": name, "id": id}, nil
}

type queueOp int

const (
	moveTop queueOp = iota
	moveUp
	moveDown
	moveBottom
)

func queueMove(op queueOp) func(*call) (map[string]any, error) {
	return func(c *call) (map[string]any, error) {
		if err := c.allow("ids"); err != nil {
			return nil, err
		}
		sel, err := c.ids()
		if err != nil {
			return nil, err
		}
		list, err := c.torrents(sel, true) // queue order
		if err != nil {
			return nil, err
		}
		n := c.h.eng.Stats().Torrents
		switch op {
		case moveTop:
			for i, t := range list {
				if err := c.h.eng.MoveQueue(t.ID, i); err != nil {
					return nil, err
				}
			}
		case moveBottom:
			for _, t := range list {
				if err := c.h.eng.MoveQueue(t.ID, n-1); err != nil {
					return nil, err
				}
			}
		case moveUp:
			for _, t := range list {
				if err := c.h.eng.MoveQueue(t.ID, max(0, t.QueuePos-1)); err != nil {
					return nil, err
				}
			}
		case moveDown:
			for _, t := range slices.Backward(list) {
				if err := c.h.eng.MoveQueue(t.ID, t.QueuePos+1); err != nil {
					return nil, err
				}
			}
		}
		return nil, nil
	}
}

// decodeMetainfo reads torrent-add's base64 .torrent leniently, as
// Transmission does: padding optional, whitespace ignored.
func decodeMetainfo(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errorf("metainfo is not base64")
}

func torrentAdd(c *call) (map[string]any, error) {
	if err := c.allow("cookies", "download-dir", "filename", "labels", "metainfo", "paused", "peer-limit",
		"bandwidthPriority", "files-wanted", "files-unwanted", "priority-high", "priority-low", "priority-normal",
		"sequentialDownload"); err != nil {
		return nil, err
	}
	filename, hasFile, err := c.str("filename")
	if err != nil {
		return nil, err
	}
	meta, hasMeta, err := c.str("metainfo")
	if err != nil {
		return nil, err
	}
	dir, _, err := c.str("download-dir")
	if err != nil {
		return nil, err
	}
	paused, _, err := c.bool("paused")
	if err != nil {
		return nil, err
	}
	cookies, _, err := c.str("cookies")
	if err != nil {
		return nil, err
	}
	if cookies != "" {
		return nil, errorf("cookies are not supported: Hearth fetches .torrent URLs without cookies")
	}
	for _, f := range []error{
		c.fixed("peer-limit", c.h.cfg.Torrent.ConnsPerTorrent, "Hearth sets peers per torrent in its config (torrent.conns_per_torrent)"),
		c.fixed("bandwidthPriority", 0, "Hearth has no bandwidth priorities"),
		c.fixed("sequentialDownload", false, "Hearth does not download in order"),
	} {
		if f != nil {
			return nil, f
		}
	}
	labels, hasLabels, err := c.strs("labels")
	if err != nil {
		return nil, err
	}
	if hasLabels {
		if labels, err = engine.CleanLabels(labels); err != nil {
			return nil, err
		}
	}
	sel, err := c.fileSelection()
	if err != nil {
		return nil, err
	}
	if dir != "" && !filepath.IsAbs(dir) {
		return nil, errorf("download-dir %q must be an absolute path", clip(dir))
	}

	req := engine.AddRequest{Dir: dir, Paused: paused}
	switch {
	case hasMeta: // metainfo wins over filename, as in Transmission
		if req.Metainfo, err = decodeMetainfo(meta); err != nil {
			return nil, err
		}
		if len(req.Metainfo) == 0 {
			return nil, errorf("metainfo is empty")
		}
	case hasFile:
		if err := c.addSource(strings.TrimSpace(filename), &req); err != nil {
			return nil, err
		}
	default:
		return nil, errorf("torrent-add needs filename (a magnet link, URL or path) or metainfo (a base64 .torrent)")
	}
	if channel.IsLink(req.Magnet) {
		// A channel link (given, or an indexer's redirect): it subscribes.
		return c.addChannel(req.Magnet, dir, paused, labels, sel)
	}
	var patches []engine.FilePatch
	if req.Metainfo != nil {
		pt, err := link.ParseTorrent(req.Metainfo)
		if err != nil {
			return nil, &engine.InputError{Msg: "bad torrent file", Err: err}
		}
		n := len(pt.Info.UpvertedFiles())
		wanted, p, err := sel.apply(n)
		if err != nil {
			return nil, err
		}
		req.Files, patches = wanted, p
	} else if sel.given() {
		if len(sel.unwanted) > 0 || sel.priorities() {
			return nil, errorf("files-unwanted and priority-* need the torrent's file list: add the .torrent (metainfo or URL), not a magnet link")
		}
		// files-wanted alone changes nothing: every file is wanted.
	}

	t, existed, err := c.h.eng.Add(c.ctx, req)
	if err != nil {
		return nil, err
	}
	brief := map[string]any{"id": t.ID, "name": t.Name, "hashString": t.InfoHash}
	if existed {
		return map[string]any{"torrent-duplicate": brief}, nil
	}
	if len(patches) > 0 {
		if err := c.h.eng.SetFiles(t.ID, patches); err != nil {
			return nil, fmt.Errorf("added torrent %d, but set its file priorities: %w", t.ID, err)
		}
	}
	if len(labels) > 0 {
		if err := c.h.eng.SetLabels(t.ID, labels); err != nil {
			return nil, fmt.Errorf("added torrent %d, but set its labels: %w", t.ID, err)
		}
	}
	return map[string]any{"torrent-added": brief}, nil
}

// addSource fills req from torrent-add's filename: a magnet link, an info
// hash, an http(s) URL of a .torrent (fetched with size limits) or the
// absolute path of a .torrent on the daemon's file system.
func (c *call) addSource(f string, req *engine.AddRequest) error {
	if f == "" {
		return errorf("filename is empty")
	}
	kind, derr := link.Detect(f)
	switch {
	case derr == nil && kind == link.KindMagnet:
		req.Magnet = f
		return nil
	case derr == nil && kind == link.KindInfoHash:
		req.Magnet = "magnet:?xt=urn:btih:" + f
		return nil
	case derr == nil && kind == link.KindChannel:
		req.Magnet = f // torrentAdd hands it to the channel manager
		return nil
	case derr == nil && kind == link.KindURL:
		data, err := c.h.fetch(c.ctx, f)
		var mr *link.MagnetRedirectError
		var le *link.Error
		switch {
		case errors.As(err, &mr):
			req.Magnet = mr.Magnet // indexers answer magnet-only results with a redirect
			return nil
		case errors.As(err, &le):
			return errorf("%s", le.Error())
		case err != nil:
			return errorf("cannot fetch the torrent: %v", err)
		}
		req.Metainfo = data
		return nil
	}
	if !filepath.IsAbs(f) {
		if derr != nil {
			return errorf("filename %q is not a magnet link, an http(s) URL or an absolute path: %v", clip(f), derr)
		}
		return errorf("filename %q is not a magnet link, an http(s) URL or an absolute path", clip(f))
	}
	// Only a regular file: a FIFO or a device would block or never end.
	if fi, err := os.Stat(f); err != nil {
		return errorf("open %s: %v", f, errors.Unwrap(err))
	} else if !fi.Mode().IsRegular() {
		return errorf("%s is not a .torrent file", f)
	}
	fh, err := os.Open(f)
	if err != nil {
		return errorf("open %s: %v", f, errors.Unwrap(err))
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, link.MaxTorrentSize+1))
	if err != nil {
		return errorf("read %s: %v", f, err)
	}
	if len(b) > link.MaxTorrentSize {
		return errorf("%s is larger than %d MiB: not a .torrent file", f, link.MaxTorrentSize>>20)
	}
	req.Metainfo = b
	return nil
}

// fileSel is the file arguments of torrent-add and torrent-set. An empty
// list means every file, as the protocol says.
type fileSel struct {
	wanted, unwanted, high, low, normal    []int
	hasW, hasU, hasHigh, hasLow, hasNormal bool
}

func (c *call) fileSelection() (fileSel, error) {
	var s fileSel
	var err error
	for _, f := range []struct {
		key string
		v   *[]int
		ok  *bool
	}{
		{"files-wanted", &s.wanted, &s.hasW}, {"files-unwanted", &s.unwanted, &s.hasU},
		{"priority-high", &s.high, &s.hasHigh}, {"priority-low", &s.low, &s.hasLow}, {"priority-normal", &s.normal, &s.hasNormal},
	} {
		if *f.v, *f.ok, err = c.indices(f.key); err != nil {
			return s, err
		}
	}
	return s, nil
}

func (s fileSel) given() bool      { return s.hasW || s.hasU || s.priorities() }
func (s fileSel) priorities() bool { return s.hasHigh || s.hasLow || s.hasNormal }

// expand turns a list into indices, empty meaning all n files, checking range.
func expand(key string, list []int, n int) ([]int, error) {
	if len(list) == 0 {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		return all, nil
	}
	for _, i := range list {
		if i >= n {
			return nil, errorf("%s: file %d does not exist (the torrent has %d files, numbered from 0)", key, i, n)
		}
	}
	return list, nil
}

// patches returns the file patches of a selection for n files: unwanted
// first, then wanted, then priorities (Transmission's order).
func (s fileSel) patches(n int) ([]engine.FilePatch, error) {
	var out []engine.FilePatch
	want := func(key string, list []int, has, v bool) error {
		if !has {
			return nil
		}
		idx, err := expand(key, list, n)
		for _, i := range idx {
			out = append(out, engine.FilePatch{Index: i, Wanted: &v})
		}
		return err
	}
	prio := func(key string, list []int, has bool, p engine.Priority) error {
		if !has {
			return nil
		}
		idx, err := expand(key, list, n)
		for _, i := range idx {
			out = append(out, engine.FilePatch{Index: i, Priority: &p})
		}
		return err
	}
	for _, err := range []error{
		want("files-unwanted", s.unwanted, s.hasU, false),
		want("files-wanted", s.wanted, s.hasW, true),
		prio("priority-high", s.high, s.hasHigh, engine.PriorityHigh),
		prio("priority-low", s.low, s.hasLow, engine.PriorityLow),
		prio("priority-normal", s.normal, s.hasNormal, engine.PriorityNormal),
	} {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// apply works out torrent-add's wanted files (nil = all) and the priority
// patches for a torrent of n files.
func (s fileSel) apply(n int) ([]int, []engine.FilePatch, error) {
	ps, err := s.patches(n)
	if err != nil {
		return nil, nil, err
	}
	var wanted []int
	if s.hasU || s.hasW {
		w := make([]bool, n)
		for i := range w {
			w[i] = true
		}
		for _, p := range ps {
			if p.Wanted != nil {
				w[p.Index] = *p.Wanted
			}
		}
		wanted = []int{}
		for i, ok := range w {
			if ok {
				wanted = append(wanted, i)
			}
		}
	}
	var prios []engine.FilePatch
	for _, p := range ps {
		if p.Priority != nil {
			prios = append(prios, p)
		}
	}
	return wanted, prios, nil
}

// limitPair applies Transmission's limit and "limited" switch to Hearth's
// one number (0 = no limit). cur is the value in force, rememberKey where a
// value set while off is kept.
func (c *call) limitPair(valKey, onKey string, cur int64, rememberKey string) (v int64, changed bool, err error) {
	val, hasVal, err := c.int(valKey)
	if err != nil {
		return 0, false, err
	}
	on, hasOn, err := c.bool(onKey)
	if err != nil {
		return 0, false, err
	}
	if hasVal && val < 0 {
		return 0, false, errorf("%s must be 0 or more", valKey)
	}
	switch {
	case hasOn && !on:
		if hasVal {
			c.h.remember(rememberKey, val)
		} else if cur > 0 {
			c.h.remember(rememberKey, cur)
		}
		return 0, true, nil
	case hasOn && on:
		switch {
		case hasVal:
			v = val
		case cur > 0:
			v = cur
		default:
			v, _ = c.h.recall(rememberKey)
		}
		if v <= 0 {
			return 0, false, errorf("%s: a limit of 0 with %s on would stop all transfers, which Hearth does not do; stop the torrents, or turn the limit off", valKey, onKey)
		}
		return v, true, nil
	case hasVal && cur > 0:
		if val == 0 {
			return 0, false, errorf("%s: a limit of 0 would stop all transfers, which Hearth does not do; turn %s off instead", valKey, onKey)
		}
		return val, true, nil
	case hasVal:
		c.h.remember(rememberKey, val) // the limit is off: keep the value for later
	}
	return 0, false, nil
}

func torrentSet(c *call) (map[string]any, error) {
	if err := c.allow("ids", "bandwidthPriority", "downloadLimit", "downloadLimited", "files-wanted", "files-unwanted",
		"group", "honorsSessionLimits", "labels", "location", "peer-limit", "priority-high", "priority-low",
		"priority-normal", "queuePosition", "seedIdleLimit", "seedIdleMode", "seedRatioLimit", "seedRatioMode",
		"sequentialDownload", "trackerAdd", "trackerList", "trackerRemove", "trackerReplace", "uploadLimit",
		"uploadLimited"); err != nil {
		return nil, err
	}
	for _, err := range []error{
		c.fixed("bandwidthPriority", 0, "Hearth has no bandwidth priorities"),
		c.fixed("group", "", "Hearth has no bandwidth groups"),
		c.fixed("honorsSessionLimits", true, "torrents always stay within the global limits"),
		c.fixed("peer-limit", c.h.cfg.Torrent.ConnsPerTorrent, "Hearth sets peers per torrent in its config (torrent.conns_per_torrent)"),
		c.fixed("sequentialDownload", false, "Hearth does not download in order"),
	} {
		if err != nil {
			return nil, err
		}
	}
	for _, k := range []string{"trackerAdd", "trackerRemove", "trackerReplace"} {
		if c.has(k) {
			var l []json.RawMessage
			if json.Unmarshal(c.args[k], &l) != nil || len(l) > 0 {
				return nil, errorf("%s: editing trackers is not supported", k)
			}
		}
	}
	trackerList, hasTrackerList, err := c.str("trackerList")
	if err != nil {
		return nil, err
	}
	labels, hasLabels, err := c.strs("labels")
	if err != nil {
		return nil, err
	}
	if hasLabels {
		if labels, err = engine.CleanLabels(labels); err != nil {
			return nil, err
		}
	}
	loc, hasLoc, err := c.str("location")
	if err != nil {
		return nil, err
	}
	if hasLoc && !filepath.IsAbs(loc) {
		return nil, errorf("location must be an absolute folder path")
	}
	qpos, hasQpos, err := c.int("queuePosition")
	if err != nil {
		return nil, err
	}
	if hasQpos && (qpos < 0 || qpos > 1<<30) {
		return nil, errorf("queuePosition must be 0 or more")
	}
	ratioMode, hasRatioMode, err := c.int("seedRatioMode")
	if err != nil {
		return nil, err
	}
	ratio, hasRatio, err := c.float("seedRatioLimit")
	if err != nil {
		return nil, err
	}
	idleMode, hasIdleMode, err := c.int("seedIdleMode")
	if err != nil {
		return nil, err
	}
	idle, hasIdle, err := c.int("seedIdleLimit")
	if err != nil {
		return nil, err
	}
	switch {
	case hasRatioMode && (ratioMode < 0 || ratioMode > 2):
		return nil, errorf("seedRatioMode must be 0 (global), 1 (this torrent's limit) or 2 (unlimited)")
	case hasIdleMode && (idleMode < 0 || idleMode > 2):
		return nil, errorf("seedIdleMode must be 0 (global), 1 (this torrent's limit) or 2 (unlimited)")
	case hasRatio && ratio < 0:
		return nil, errorf("seedRatioLimit must be 0 or more")
	case hasIdle && (idle < 0 || idle > 1<<31):
		return nil, errorf("seedIdleLimit must be minutes, 0 or more")
	}
	files, err := c.fileSelection()
	if err != nil {
		return nil, err
	}
	sel, err := c.ids()
	if err != nil {
		return nil, err
	}
	list, err := c.torrents(sel, true)
	if err != nil {
		return nil, err
	}

	// Work out every change first: a bad value for any torrent changes nothing.
	type change struct {
		id    int64
		opts  engine.OptionsPatch
		files []engine.FilePatch
	}
	var changes []change
	for _, t := range list {
		ch := change{id: t.ID}
		if hasTrackerList && normTrackers(trackerList) != strings.Join(trackers(t), "\n") {
			return nil, errorf("trackerList: editing trackers is not supported")
		}
		for _, l := range []struct {
			val, on string
			cur     int
			set     **int
		}{
			{"downloadLimit", "downloadLimited", t.Options.DownloadKBps, &ch.opts.DownloadKBps},
			{"uploadLimit", "uploadLimited", t.Options.UploadKBps, &ch.opts.UploadKBps},
		} {
			v, changed, err := c.limitPair(l.val, l.on, int64(l.cur), torrentKey(t.ID, l.val))
			if err != nil {
				return nil, fmt.Errorf("torrent %d: %w", t.ID, err)
			}
			if changed {
				n := int(v)
				*l.set = &n
			}
		}
		if r, ok, err := seedRatioPatch(c, t, ratioMode, hasRatioMode, ratio, hasRatio); err != nil {
			return nil, fmt.Errorf("torrent %d: %w", t.ID, err)
		} else if ok {
			ch.opts.SeedRatio = &r
		}
		if d, ok, err := seedIdlePatch(c, t, idleMode, hasIdleMode, idle, hasIdle); err != nil {
			return nil, fmt.Errorf("torrent %d: %w", t.ID, err)
		} else if ok {
			ch.opts.SeedIdle = &d
		}
		if files.given() {
			full, err := c.h.eng.Get(idString(t.ID))
			if err != nil {
				return nil, err
			}
			if !full.HasMetadata {
				return nil, errorf("torrent %d has no metadata yet: its files are not known", t.ID)
			}
			if ch.files, err = files.patches(len(full.Files)); err != nil {
				return nil, fmt.Errorf("torrent %d: %w", t.ID, err)
			}
		}
		changes = append(changes, ch)
	}
	for _, ch := range changes {
		if hasLabels {
			if err := c.h.eng.SetLabels(ch.id, labels); err != nil {
				return nil, err
			}
		}
		if ch.opts != (engine.OptionsPatch{}) {
			if err := c.h.eng.SetOptions(ch.id, ch.opts); err != nil {
				return nil, err
			}
		}
		if len(ch.files) > 0 {
			if err := c.h.eng.SetFiles(ch.id, ch.files); err != nil {
				return nil, err
			}
		}
		if hasQpos {
			if err := c.h.eng.MoveQueue(ch.id, int(qpos)); err != nil {
				return nil, err
			}
		}
		if hasLoc {
			if err := c.h.eng.SetLocation(ch.id, loc, false); err != nil {
				return nil, err
			}
		}
	}
	return nil, nil
}

func normTrackers(s string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// seedRatioPatch maps seedRatioMode/seedRatioLimit onto the engine's one
// number: -1 global, 0 never stop, else the ratio.
func seedRatioPatch(c *call, t engine.Torrent, mode int64, hasMode bool, limit float64, hasLimit bool) (float64, bool, error) {
	key := torrentKey(t.ID, "seedRatioLimit")
	own := t.Options.SeedRatio > 0
	if !hasMode {
		if !hasLimit {
			return 0, false, nil
		}
		if own {
			if limit == 0 {
				return 0, false, errorf("seedRatioLimit 0 would stop seeding at once; set seedRatioMode 2 to seed without a limit")
			}
			return limit, true, nil
		}
		c.h.remember(key, int64(limit*1000))
		return 0, false, nil
	}
	switch mode {
	case 0:
		return -1, true, nil
	case 2:
		return 0, true, nil
	}
	r := limit
	if !hasLimit {
		if own {
			r = t.Options.SeedRatio
		} else if v, ok := c.h.recall(key); ok {
			r = float64(v) / 1000
		}
	}
	if r <= 0 {
		return 0, false, errorf("seedRatioMode 1 needs a seedRatioLimit above 0")
	}
	return r, true, nil
}

func seedIdlePatch(c *call, t engine.Torrent, mode int64, hasMode bool, minutes int64, hasMinutes bool) (time.Duration, bool, error) {
	key := torrentKey(t.ID, "seedIdleLimit")
	own := t.Options.SeedIdle > 0
	d := time.Duration(minutes) * time.Minute
	if !hasMode {
		if !hasMinutes {
			return 0, false, nil
		}
		if own {
			if minutes == 0 {
				return 0, false, errorf("seedIdleLimit 0 would stop seeding at once; set seedIdleMode 2 to seed without a limit")
			}
			return d, true, nil
		}
		c.h.remember(key, minutes)
		return 0, false, nil
	}
	switch mode {
	case 0:
		return -1, true, nil
	case 2:
		return 0, true, nil
	}
	if !hasMinutes {
		if own {
			d = t.Options.SeedIdle
		} else if v, ok := c.h.recall(key); ok {
			d = time.Duration(v) * time.Minute
		}
	}
	if d <= 0 {
		return 0, false, errorf("seedIdleMode 1 needs a seedIdleLimit above 0 minutes")
	}
	return d, true, nil
}
