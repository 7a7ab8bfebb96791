package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/hearth-media/hearth/engine/store"
)

// List returns every torrent in queue order, without file lists.
func (e *Engine) List() []Torrent {
	e.mu.Lock()
	defer e.mu.Unlock()
	list := e.ordered()
	out := make([]Torrent, 0, len(list))
	for _, tr := range list {
		out = append(out, e.snapshot(tr, false))
	}
	return out
}

// ListOf returns the torrents that ids name, in queue order as List has
// them, without file lists; ids of no torrent are left out, repeated ids
// count once. It builds only those: a client polling a few torrents of
// a thousand must not pay for a list of all.
func (e *Engine) ListOf(ids []int64) []Torrent {
	e.mu.Lock()
	defer e.mu.Unlock()
	seen := make(map[int64]bool, len(ids))
	list := make([]*tor, 0, len(ids))
	for _, id := range ids {
		if tr, ok := e.byID[id]; ok && !seen[id] {
			seen[id] = true
			list = append(list, tr)
		}
	}
	slices.SortFunc(list, queueOrder)
	out := make([]Torrent, 0, len(list))
	for _, tr := range list {
		out = append(out, e.snapshot(tr, false))
	}
	return out
}

// Get returns one torrent with its files. ref is the numeric id or the infohash (hex).
func (e *Engine) Get(ref string) (Torrent, error) {
	id, err := e.Resolve(ref)
	if err != nil {
		return Torrent{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	tr, err := e.lookup(id)
	if err != nil {
		return Torrent{}, err
	}
	return e.snapshot(tr, true), nil
}

// change runs fn on a torrent under the lock, then saves it and reschedules.
func (e *Engine) change(id int64, fn func(tr *tor) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	tr, err := e.lookup(id)
	if err != nil {
		return err
	}
	if err := fn(tr); err != nil {
		return err
	}
	tr.edited()
	e.persist(tr)
	e.schedule(time.Now())
	return nil
}

// Pause stops a torrent until Resume.
func (e *Engine) Pause(id int64) error {
	return e.change(id, func(tr *tor) error {
		tr.rec.Paused, tr.rec.Force = true, false
		if tr.t != nil && !tr.checking {
			e.deactivate(tr)
		}
		return nil
	})
}

// Resume puts a stopped torrent back in the queue. It clears an error
// state, so a torrent stopped by a full disk is tried again.
func (e *Engine) Resume(id int64) error {
	return e.change(id, func(tr *tor) error {
		if tr.rec.ErrorKind == errKindFatal {
			return inputErrorf("torrent %d cannot run: %s (remove it and add it again)", id, tr.rec.Error)
		}
		tr.rec.Paused, tr.rec.Finished = false, false
		tr.rec.Error, tr.rec.ErrorKind = "", ""
		return nil
	})
}

// StartNow starts a torrent at once, ignoring the queue limits.
func (e *Engine) StartNow(id int64) error {
	if err := e.Resume(id); err != nil {
		return err
	}
	return e.change(id, func(tr *tor) error { tr.rec.Force = true; return nil })
}

// Remove removes a torrent, and its downloaded data if deleteData.
func (e *Engine) Remove(id int64, deleteData bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	tr, err := e.lookup(id)
	if err != nil {
		return err
	}
	if tr.moving {
		return errMoving(id)
	}
	if tr.t != nil {
		e.deactivate(tr)
	}
	ih := tr.rec.InfoHash
	if err := e.st.Update(func(tx store.Txn) error {
		if err := tx.Delete(torrentKey(ih)); err != nil {
			return err
		}
		return tx.Delete(infoKey(ih))
	}); err != nil {
		return fmt.Errorf("remove torrent %d: %w", id, err)
	}
	if err := e.pc.Forget(metainfo.NewHashFromHex(ih)); err != nil {
		e.log.Warn("forget piece completion", "torrent", id, "err", err)
	}
	delete(e.byID, id)
	delete(e.byHash, ih)
	e.goneDown += tr.sessDown
	e.goneUp += tr.sessUp
	e.noteRemoved(id, time.Now())
	e.renumber(e.ordered())
	e.log.Info("torrent removed", "torrent", id, "deleteData", deleteData)
	if deleteData {
		if err := e.removeTorrentData(tr); err != nil {
			return fmt.Errorf("delete data of torrent %d: %w", id, err)
		}
	}
	e.schedule(time.Now())
	return nil
}

// Verify re-hashes the torrent's data; missing or damaged pieces are
// downloaded again. It returns when the check has started.
func (e *Engine) Verify(id int64) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	tr, err := e.lookup(id)
	if err != nil {
		return err
	}
	return e.verify(tr)
}

// verify starts a re-hash of tr's data. Called with e.mu held.
func (e *Engine) verify(tr *tor) error {
	id := tr.rec.ID
	if tr.moving {
		return errMoving(id)
	}
	if tr.info == nil {
		return inputErrorf("torrent %d has no metadata yet: nothing to verify", id)
	}
	if tr.checking {
		return nil
	}
	if tr.rec.ErrorKind == errKindFatal {
		return inputErrorf("torrent %d cannot run: %s", id, tr.rec.Error)
	}
	tr.checking = true
	if tr.t == nil {
		e.activate(tr)
		if tr.t == nil {
			tr.checking = false
			return fmt.Errorf("verify torrent %d: %s", id, tr.rec.Error)
		}
	}
	t := tr.t
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		err := t.VerifyDataContext(e.ctx)
		e.mu.Lock()
		defer e.mu.Unlock()
		tr.checking = false
		if err != nil && !errors.Is(err, context.Canceled) {
			e.log.Warn("verify", "torrent", id, "err", err)
		}
		if tr.t != t {
			return
		}
		if !e.complete(tr) {
			tr.rec.Finished = false // damaged or missing data: fetch it again
		}
		e.log.Info("verify finished", "torrent", id, "complete", e.complete(tr))
		e.persist(tr)
		e.kick()
	}()
	return nil
}

// SetFiles changes which files are wanted and their priorities.
func (e *Engine) SetFiles(id int64, patches []FilePatch) error {
	return e.change(id, func(tr *tor) error {
		if tr.info == nil {
			return inputErrorf("torrent %d has no metadata yet: its files are not known", id)
		}
		n := len(tr.rec.Wanted)
		for _, p := range patches {
			if p.Index < 0 || p.Index >= n {
				return inputErrorf("file index %d out of range: the torrent has %d files", p.Index, n)
			}
			if p.Priority != nil && (*p.Priority < PriorityLow || *p.Priority > PriorityHigh) {
				return inputErrorf("priority %d: want -1 (low), 0 (normal) or 1 (high)", *p.Priority)
			}
		}
		for _, p := range patches {
			if p.Wanted != nil {
				tr.rec.Wanted[p.Index] = *p.Wanted
			}
			if p.Priority != nil {
				tr.rec.Priority[p.Index] = *p.Priority
			}
		}
		e.applyPriorities(tr)
		if !e.complete(tr) {
			tr.rec.Finished = false
		}
		return nil
	})
}

// SetOptions changes per-torrent limits.
func (e *Engine) SetOptions(id int64, p OptionsPatch) error {
	if err := checkOptions(p); err != nil {
		return err
	}
	return e.change(id, func(tr *tor) error {
		o := &tr.rec.Options
		if p.DownloadKBps != nil {
			o.DownloadKBps = *p.DownloadKBps
		}
		if p.UploadKBps != nil {
			o.UploadKBps = *p.UploadKBps
		}
		if p.SeedRatio != nil {
			o.SeedRatio = *p.SeedRatio
		}
		if p.SeedIdle != nil {
			o.SeedIdle = *p.SeedIdle
		}
		if p.Sequential != nil {
			o.Sequential = *p.Sequential
			e.sequential(tr)
		}
		tr.lim.set(o.DownloadKBps, o.UploadKBps)
		// New limits may allow seeding again.
		if tr.rec.Finished && !e.seedLimitReached(tr, time.Now()) {
			tr.rec.Finished = false
		}
		return nil
	})
}

func checkOptions(p OptionsPatch) error {
	if p.DownloadKBps != nil && *p.DownloadKBps < 0 {
		return inputErrorf("download limit %d KB/s: must be 0 (unlimited) or more", *p.DownloadKBps)
	}
	if p.UploadKBps != nil && *p.UploadKBps < 0 {
		return inputErrorf("upload limit %d KB/s: must be 0 (unlimited) or more", *p.UploadKBps)
	}
	if p.SeedRatio != nil && *p.SeedRatio < 0 && *p.SeedRatio != -1 {
		return inputErrorf("seed ratio %g: want -1 (global), 0 (never stop) or a positive ratio", *p.SeedRatio)
	}
	if p.SeedIdle != nil && *p.SeedIdle < 0 && *p.SeedIdle != -1 {
		return inputErrorf("seed idle %s: want -1 (global), 0 (never stop) or a duration", *p.SeedIdle)
	}
	return nil
}

// MoveQueue moves a torrent to position pos (0 = first) of the queue.
func (e *Engine) MoveQueue(id int64, pos int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	tr, err := e.lookup(id)
	if err != nil {
		return err
	}
	if pos < 0 {
		return inputErrorf("queue position %d: must be 0 or more", pos)
	}
	list := e.ordered()
	out := make([]*tor, 0, len(list))
	for _, x := range list {
		if x != tr {
			out = append(out, x)
		}
	}
	pos = min(pos, len(out))
	out = append(out[:pos], append([]*tor{tr}, out[pos:]...)...)
	e.renumber(out)
	e.schedule(time.Now())
	return nil
}

// renumber gives torrents consecutive queue positions and saves the changed ones.
func (e *Engine) renumber(list []*tor) {
	var changed []*tor
	for i, tr := range list {
		if tr.rec.QueuePos != i {
			tr.rec.QueuePos = i
			changed = append(changed, tr)
		}
	}
	if len(changed) == 0 {
		return
	}
	if err := e.st.Update(func(tx store.Txn) error {
		for _, tr := range changed {
			if err := putRecord(tx, &tr.rec); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		e.log.Error("save queue order", "err", err)
	}
}

// AddPeers makes a running torrent connect to the given host:port peers.
func (e *Engine) AddPeers(id int64, addrs []string) error {
	for _, a := range addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return inputErrorf("bad peer address %q: want host:port", a)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	tr, err := e.lookup(id)
	if err != nil {
		return err
	}
	if tr.t == nil {
		return inputErrorf("torrent %d is not running", id)
	}
	tr.t.AddPeers(peerInfos(addrs))
	return nil
}

// Settings returns the runtime settings.
func (e *Engine) Settings() Settings {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.settingsView()
}

// settingKeys maps runtime settings to their config keys: the daemon loads
// them as config's "api" layer (between the file and the environment).
var settingKeys = struct {
	down, up, maxDown, maxSeed, ratio, idle, dir string
}{"limits.download_kbps", "limits.upload_kbps", "queue.max_downloads", "queue.max_seeds", "queue.seed_ratio", "queue.seed_idle", "torrent.download_dir"}

// SetSettings changes and persists runtime settings.
func (e *Engine) SetSettings(p SettingsPatch) (Settings, error) {
	kv := map[string]string{}
	bad := func(format string, args ...any) (Settings, error) { return Settings{}, inputErrorf(format, args...) }
	if p.DownloadKBps != nil {
		if *p.DownloadKBps < 0 {
			return bad("download limit %d KB/s: must be 0 (unlimited) or more", *p.DownloadKBps)
		}
		kv[settingKeys.down] = strconv.Itoa(*p.DownloadKBps)
	}
	if p.UploadKBps != nil {
		if *p.UploadKBps < 0 {
			return bad("upload limit %d KB/s: must be 0 (unlimited) or more", *p.UploadKBps)
		}
		kv[settingKeys.up] = strconv.Itoa(*p.UploadKBps)
	}
	if p.MaxDownloads != nil {
		if *p.MaxDownloads < 0 {
			return bad("max downloads %d: must be 0 (no limit) or more", *p.MaxDownloads)
		}
		kv[settingKeys.maxDown] = strconv.Itoa(*p.MaxDownloads)
	}
	if p.MaxSeeds != nil {
		if *p.MaxSeeds < 0 {
			return bad("max seeds %d: must be 0 (no limit) or more", *p.MaxSeeds)
		}
		kv[settingKeys.maxSeed] = strconv.Itoa(*p.MaxSeeds)
	}
	if p.SeedRatio != nil {
		if *p.SeedRatio < 0 {
			return bad("seed ratio %g: must be 0 (never stop) or more", *p.SeedRatio)
		}
		kv[settingKeys.ratio] = strconv.FormatFloat(*p.SeedRatio, 'g', -1, 64)
	}
	if p.SeedIdle != nil {
		if *p.SeedIdle < 0 {
			return bad("seed idle %s: must be 0 (never stop) or more", *p.SeedIdle)
		}
		kv[settingKeys.idle] = p.SeedIdle.String()
	}
	if p.DownloadDir != nil {
		d, err := absDir(*p.DownloadDir)
		if err != nil || d == "" {
			return bad("download folder %q must be an absolute path", *p.DownloadDir)
		}
		kv[settingKeys.dir] = d
	}
	if err := p.checkMore(kv); err != nil {
		return Settings{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return Settings{}, ErrClosed
	}
	if err := e.saveRuntime(kv); err != nil {
		return Settings{}, err
	}
	s := &e.settings
	if p.DownloadKBps != nil {
		s.DownloadKBps = *p.DownloadKBps
	}
	if p.UploadKBps != nil {
		s.UploadKBps = *p.UploadKBps
	}
	if p.MaxDownloads != nil {
		s.MaxDownloads = *p.MaxDownloads
	}
	if p.MaxSeeds != nil {
		s.MaxSeeds = *p.MaxSeeds
	}
	if p.SeedRatio != nil {
		s.SeedRatio = *p.SeedRatio
	}
	if p.SeedIdle != nil {
		s.SeedIdle = *p.SeedIdle
	}
	if p.DownloadDir != nil {
		s.DownloadDir = kv[settingKeys.dir]
	}
	e.applyMore(p, kv)
	e.applyLimits()
	e.log.Info("settings changed", "settings", strings.Join(slices.Sorted(maps.Keys(kv)), ","))
	e.schedule(time.Now())
	return e.settingsView(), nil
}

// saveRuntime merges kv into the saved runtime settings and syncs the
// store. Called with e.mu held.
func (e *Engine) saveRuntime(kv map[string]string) error {
	if err := e.st.Update(func(tx store.Txn) error {
		saved, err := readRuntime(tx)
		if err != nil {
			return err
		}
		for k, v := range kv {
			saved[k] = v
		}
		b, err := json.Marshal(saved)
		if err != nil {
			return err
		}
		return tx.Set([]byte(keySettings), b)
	}); err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	if err := e.st.Sync(); err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	return nil
}

func readRuntime(r store.Reader) (map[string]string, error) {
	m := map[string]string{}
	b, err := r.Get([]byte(keySettings))
	if errors.Is(err, store.ErrNotFound) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode saved settings: %w", err)
	}
	return m, nil
}

// RuntimeSettings returns the settings saved through the API as config
// key → value, for config.Load's runtime layer.
func RuntimeSettings(s store.Store) (map[string]string, error) {
	return readRuntime(s)
}

// loadSettings derives the runtime settings from the config (which the
// daemon loaded with the saved settings as one of its layers).
func (e *Engine) loadSettings() error {
	c := e.cfg
	dir := c.Torrent.DownloadDir
	if dir == "" {
		dir = filepath.Join(c.DataDir, "downloads")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("download dir %q: %w", dir, err)
	}
	e.settings = Settings{
		DownloadKBps: c.Limits.DownloadKBps,
		UploadKBps:   c.Limits.UploadKBps,
		MaxDownloads: c.Queue.MaxDownloads,
		MaxSeeds:     c.Queue.MaxSeeds,
		SeedRatio:    c.Queue.SeedRatio,
		SeedIdle:     c.Queue.SeedIdle,
		DownloadDir:  abs,
	}
	return e.loadMoreSettings()
}

// Stats returns engine-wide figures.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Stats{
		Torrents: len(e.byID),
		DownRate: e.downRate.get(),
		UpRate:   e.upRate.get(),
		Store:    e.st.Backend(),
		Uptime:   time.Since(e.start).Round(time.Second),
		Total:    e.totals(time.Now()),
	}
	s.Downloaded, s.Uploaded = e.sessionBytes()
	if e.guard != nil {
		s.StoreReserve = e.guard.reserve
	}
	for _, tr := range e.byID {
		if tr.t != nil {
			s.Active++
		}
	}
	if e.cl != nil {
		s.PeerPort = e.cl.LocalPort()
		cs := e.cl.Stats()
		s.BytesHashed = cs.BytesHashed.Int64()
	}
	return s
}

// snapshot builds the public view of a torrent. Called with e.mu held.
func (e *Engine) snapshot(tr *tor, withFiles bool) Torrent {
	r := tr.rec
	t := Torrent{
		ID:           r.ID,
		InfoHash:     r.InfoHash,
		Name:         r.Name,
		Error:        r.Error,
		Dir:          r.Dir,
		DataDir:      r.IncompleteDir,
		Magnet:       tr.magnetLink(),
		Labels:       append([]string(nil), r.Labels...),
		Finished:     r.Finished,
		HasMetadata:  tr.info != nil,
		Downloaded:   r.Downloaded,
		Uploaded:     r.Uploaded,
		QueuePos:     r.QueuePos,
		AddedAt:      r.AddedAt,
		DoneAt:       r.DoneAt,
		LastActivity: r.LastActivity,
		StartedAt:    tr.startedAt,
		EditedAt:     r.EditedAt,
		Options:      r.Options,
		ETA:          -1,
	}
	complete := false
	if tr.info != nil {
		done, piecesDone := e.verified(tr)
		t.Private = tr.info.Private != nil && *tr.info.Private
		t.PieceCount = tr.numPieces
		t.PieceSize = tr.info.PieceLength
		t.PiecesDone = piecesDone
		complete = true
		for i, size := range tr.lengths {
			t.Size += size
			if r.Wanted[i] {
				t.WantedSize += size
				t.Done += done[i]
				if done[i] < size {
					complete = false
				}
			}
		}
		if withFiles {
			t.Files = make([]File, 0, len(tr.lengths))
			for i, f := range tr.info.UpvertedFiles() {
				t.Files = append(t.Files, File{
					Index: i, Path: tr.relPath(i, &f), Size: f.Length,
					Done: done[i], Wanted: r.Wanted[i], Priority: r.Priority[i],
				})
			}
		}
		if t.WantedSize > 0 {
			t.Progress = float64(t.Done) / float64(t.WantedSize)
		} else {
			t.Progress = 1
		}
		t.Ratio = ratio(r, t.WantedSize)
	}
	if tr.t != nil {
		st := tr.t.Stats()
		t.Downloaded = tr.baseDown + st.BytesReadData.Int64()
		t.Uploaded = tr.baseUp + st.BytesWrittenData.Int64()
		t.Ratio = ratio(record{Downloaded: t.Downloaded, Uploaded: t.Uploaded}, t.WantedSize)
		t.Peers = st.ActivePeers
		t.Seeds = st.ConnectedSeeders
		t.BytesHashed = st.BytesHashed.Int64()
		t.PeersSending, t.PeersReceiving = tr.peers.sending, tr.peers.receiving
		t.DownRate = tr.downRate.get()
		t.UpRate = tr.upRate.get()
		if left := t.WantedSize - t.Done; left > 0 && t.DownRate > 0 {
			t.ETA = left / t.DownRate
		} else if left == 0 && tr.info != nil {
			t.ETA = 0
		}
	}
	switch {
	case r.Error != "":
		t.State = StateError
	case tr.moving:
		t.State = StateMoving
	case tr.checking, tr.t != nil && tr.info != nil && tr.unchecked > 0:
		t.State = StateChecking
	case r.Paused || r.Finished:
		t.State = StateStopped
	case tr.t == nil && complete:
		t.State = StateQueuedSeed
	case tr.t == nil:
		t.State = StateQueued
	case tr.info == nil:
		t.State = StateMetadata
	case complete:
		t.State = StateSeeding
	default:
		t.State = StateDownloading
	}
	return t
}

// magnetLink returns the torrent's magnet link (magnetOf), cached until
// its name or trackers change. Called with e.mu held.
func (tr *tor) magnetLink() string {
	r := &tr.rec
	if tr.magnet == "" || tr.magnetName != r.Name || !slices.Equal(tr.magnetTrackers, r.Trackers) {
		tr.magnet, tr.magnetName, tr.magnetTrackers = magnetOf(*r), r.Name, slices.Clone(r.Trackers)
	}
	return tr.magnet
}

func magnetOf(r record) string {
	var b strings.Builder
	b.WriteString("magnet:?xt=urn:btih:")
	b.WriteString(r.InfoHash)
	if r.Name != "" && r.Name != r.InfoHash {
		b.WriteString("&dn=")
		b.WriteString(url.QueryEscape(r.Name))
	}
	for _, tr := range r.Trackers {
		b.WriteString("&tr=")
		b.WriteString(url.QueryEscape(tr))
	}
	return b.String()
}
