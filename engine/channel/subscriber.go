package channel

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/link"
	"github.com/hearth-media/hearth/engine/mutable"
)

// Subscription states.
const (
	StateWaiting     = "waiting"     // no version found yet
	StateLooking     = "looking"     // asking the DHT and the LAN for a new version
	StateFetching    = "fetching"    // getting a new version's metadata from peers
	StateDownloading = "downloading" // the current version is not complete yet
	StateSynced      = "synced"      // the current version is complete
	StateError       = "error"       // the last check failed (see Error)
)

// maxNewPaths bounds the paths of new items kept for the UI.
const maxNewPaths = 50

// Subscription is the status of a channel this device follows.
type Subscription struct {
	ID          string `json:"id"` // the DHT target, 40 hex digits
	Name        string `json:"name"`
	Link        string `json:"link"`
	PublicKey   string `json:"publicKey"`
	Salt        string `json:"salt,omitempty"`
	Dir         string `json:"dir"`
	KeepRemoved bool   `json:"keepRemoved"`
	State       string `json:"state"`
	// Version is the seq of the version in the engine; Latest the highest
	// valid seq seen (above Version while an update is on its way).
	Version   int64  `json:"version"`
	Latest    int64  `json:"latest"`
	InfoHash  string `json:"infoHash,omitempty"`
	TorrentID int64  `json:"torrentId,omitempty"`
	Items     int    `json:"items"` // files in the current version
	Bytes     int64  `json:"bytes"`
	Done      int64  `json:"done"` // verified bytes of the current version
	// Downloaded is what the current version's torrent downloaded: after
	// an update, about the size of the new files only.
	Downloaded int64 `json:"downloaded"`
	// NewItems counts files that arrived since MarkSeen; NewPaths names
	// up to 50 of them, newest last.
	NewItems   int       `json:"newItems"`
	NewPaths   []string  `json:"newPaths,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	CheckedAt  time.Time `json:"checkedAt,omitzero"`
	UpdatedAt  time.Time `json:"updatedAt,omitzero"`
	NextCheck  time.Time `json:"nextCheck,omitzero"`
	PutAt      time.Time `json:"putAt,omitzero"`
	Error      string    `json:"error,omitempty"`
	LastReject string    `json:"lastReject,omitempty"` // why the last bad item or version was refused
	RejectedAt time.Time `json:"rejectedAt,omitzero"`
}

// SubscribeOptions tune Subscribe.
type SubscribeOptions struct {
	// Dir is where the channel's files go (absolute); empty = a folder
	// named after the channel in the download folder.
	Dir string
	// KeepRemoved overrides Options.KeepRemoved for this subscription.
	KeepRemoved *bool
}

// Subscribe follows a channel link. It returns at once (existed=true if
// the link was already followed); Serve looks the channel up and
// downloads its versions.
func (m *Manager) Subscribe(ctx context.Context, s string, o SubscribeOptions) (sub Subscription, existed bool, err error) {
	l, err := ParseLink(s)
	if err != nil {
		return Subscription{}, false, &engine.InputError{Msg: err.Error(), Err: err}
	}
	id := subID(l.Target())
	unlock := m.lock(subKey(id))
	defer unlock()
	m.mu.Lock()
	_, have := m.subs[id]
	owned := false
	for _, r := range m.own {
		if pub, _ := ownKeys(r); pub == l.PublicKey && bytes.Equal(r.Salt, l.Salt) {
			owned = true
		}
	}
	m.mu.Unlock()
	if have {
		sub, err := m.Subscription(id)
		return sub, true, err
	}
	if owned {
		return Subscription{}, false, inputErrorf("this device publishes that channel")
	}
	keep := m.o.KeepRemoved
	if o.KeepRemoved != nil {
		keep = *o.KeepRemoved
	}
	name := l.Name
	if name == "" {
		name = "channel " + hex.EncodeToString(l.PublicKey[:4])
	}
	dir := o.Dir
	if dir != "" {
		if !filepath.IsAbs(dir) {
			return Subscription{}, false, inputErrorf("folder %s must be an absolute path", quote(dir))
		}
		dir = filepath.Clean(dir)
	} else if dir, err = m.newSubDir(name, l.PublicKey); err != nil {
		return Subscription{}, false, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Subscription{}, false, fmt.Errorf("create subscription folder: %w", err)
	}
	r := &subRec{
		PublicKey: l.PublicKey, Salt: l.Salt, Name: name, Dir: dir, KeepRemoved: keep,
		Peers: l.Peers, CreatedAt: time.Now().UTC(),
	}
	if err := saveJSON(m.o.Store, subPrefix+id, r); err != nil {
		return Subscription{}, false, err
	}
	m.mu.Lock()
	m.subs[id] = r
	m.schedule(pollTask(id), time.Now())
	m.mu.Unlock()
	m.kick()
	m.log.Info("subscribed", "subscription", id, "name", name, "dir", dir, "keepRemoved", keep)
	m.notify()
	sub, err = m.Subscription(id)
	return sub, false, err
}

// newSubDir picks a folder for a new subscription in the download folder.
func (m *Manager) newSubDir(name string, pub [32]byte) (string, error) {
	base := m.o.DownloadDir()
	if base == "" || !filepath.IsAbs(base) {
		return "", fmt.Errorf("channel: download folder %s is not an absolute path", quote(base))
	}
	folder := name
	if strings.HasPrefix(folder, ".") || link.SafePath([]string{folder}) != nil {
		folder = "channel-" + hex.EncodeToString(pub[:4])
	}
	m.mu.Lock()
	used := map[string]bool{}
	for _, r := range m.subs {
		used[r.Dir] = true
	}
	m.mu.Unlock()
	for i := 1; i < 1000; i++ {
		d := filepath.Join(base, folder)
		if i > 1 {
			d = filepath.Join(base, fmt.Sprintf("%s (%d)", folder, i))
		}
		if used[d] {
			continue
		}
		if entries, err := os.ReadDir(d); err == nil && len(entries) > 0 {
			continue
		}
		return d, nil
	}
	return "", fmt.Errorf("channel: no free folder name for %s in %s", quote(folder), base)
}

// Subscriptions lists the channels this device follows, by name.
func (m *Manager) Subscriptions() []Subscription {
	m.mu.Lock()
	ids := make([]string, 0, len(m.subs))
	for id := range m.subs {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	out := make([]Subscription, 0, len(ids))
	for _, id := range ids {
		if s, err := m.Subscription(id); err == nil {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Subscription) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Subscription returns one subscription's status. ref is its id, its
// name or its link.
func (m *Manager) Subscription(ref string) (Subscription, error) {
	id, err := m.resolveSub(ref)
	if err != nil {
		return Subscription{}, err
	}
	m.mu.Lock()
	r := m.subs[id]
	if r == nil {
		m.mu.Unlock()
		return Subscription{}, fmt.Errorf("%w: no subscription %s", ErrNotFound, quote(ref))
	}
	s := Subscription{
		ID: id, Name: r.Name, Link: Link{PublicKey: r.PublicKey, Salt: r.Salt, Name: r.Name}.String(),
		PublicKey: hex.EncodeToString(r.PublicKey[:]), Salt: hex.EncodeToString(r.Salt), Dir: r.Dir,
		KeepRemoved: r.KeepRemoved, Version: r.Seq, InfoHash: r.InfoHash, TorrentID: r.TorrentID,
		Items: r.Files, Bytes: r.Bytes, NewItems: r.NewItems, NewPaths: slices.Clone(r.NewPaths),
		CreatedAt: r.CreatedAt, CheckedAt: r.CheckedAt, UpdatedAt: r.UpdatedAt, PutAt: m.putAt[id],
		Error: r.Error, LastReject: r.LastReject, RejectedAt: r.RejectedAt, NextCheck: m.next[pollTask(id)],
	}
	if r.Item != nil {
		s.Latest = r.Item.Seq
	}
	live := m.state[id]
	m.mu.Unlock()
	if s.TorrentID != 0 {
		if t, err := m.o.Engine.Get(strconv.FormatInt(s.TorrentID, 10)); err == nil {
			s.Done, s.Downloaded = t.Done, t.Downloaded
			s.Done = min(s.Done, s.Bytes) // padding counts in the torrent, not here
		}
	}
	switch {
	case live != "":
		s.State = live
	case s.Error != "":
		s.State = StateError
	case s.TorrentID == 0:
		s.State = StateWaiting
	case s.Done < s.Bytes:
		s.State = StateDownloading
	default:
		s.State = StateSynced
	}
	return s, nil
}

// resolveSub finds a subscription by id, name or link.
func (m *Manager) resolveSub(ref string) (string, error) {
	ref = strings.TrimSpace(ref)
	if IsLink(ref) {
		l, err := ParseLink(ref)
		if err != nil {
			return "", &engine.InputError{Msg: err.Error(), Err: err}
		}
		return subID(l.Target()), nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.subs[strings.ToLower(ref)]; ok {
		return strings.ToLower(ref), nil
	}
	var found []string
	for id, r := range m.subs {
		if r.Name == ref {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return "", fmt.Errorf("%w: no subscription %s", ErrNotFound, quote(ref))
	}
	return "", inputErrorf("%d subscriptions are named %s: use the id", len(found), quote(ref))
}

func (m *Manager) subCopy(id string) (*subRec, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.subs[id]
	if r == nil {
		return nil, fmt.Errorf("%w: no subscription %s", ErrNotFound, id)
	}
	c := *r
	return &c, nil
}

// saveSub stores r and makes a copy of it the live record (the caller
// goes on changing r).
func (m *Manager) saveSub(id string, r *subRec) error {
	if err := saveJSON(m.o.Store, subPrefix+id, r); err != nil {
		return err
	}
	c := *r
	c.NewPaths, c.Peers = slices.Clone(r.NewPaths), slices.Clone(r.Peers)
	m.mu.Lock()
	if m.subs[id] != nil {
		m.subs[id] = &c
	}
	m.mu.Unlock()
	return nil
}

// editSub changes a subscription under its lock.
func (m *Manager) editSub(ref string, fn func(r *subRec)) error {
	id, err := m.resolveSub(ref)
	if err != nil {
		return err
	}
	unlock := m.lock(subKey(id))
	defer unlock()
	r, err := m.subCopy(id)
	if err != nil {
		return err
	}
	fn(r)
	return m.saveSub(id, r)
}

// MarkSeen clears a subscription's new items (the user looked).
func (m *Manager) MarkSeen(ref string) error {
	return m.editSub(ref, func(r *subRec) { r.NewItems, r.NewPaths = 0, nil })
}

// SetKeepRemoved sets whether files the publisher removes stay here.
func (m *Manager) SetKeepRemoved(ref string, keep bool) error {
	return m.editSub(ref, func(r *subRec) { r.KeepRemoved = keep })
}

// Check looks for a new version of a subscription now.
func (m *Manager) Check(ref string) error {
	id, err := m.resolveSub(ref)
	if err != nil {
		return err
	}
	m.mu.Lock()
	_, ok := m.subs[id]
	if ok {
		m.schedule(pollTask(id), time.Now())
	}
	m.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: no subscription %s", ErrNotFound, quote(ref))
	}
	m.kick()
	return nil
}

// Unsubscribe stops following a channel. With deleteData the current
// version's files go too (files kept after the publisher removed them
// stay).
func (m *Manager) Unsubscribe(ref string, deleteData bool) error {
	id, err := m.resolveSub(ref)
	if err != nil {
		return err
	}
	unlock := m.lock(subKey(id))
	defer unlock()
	r, err := m.subCopy(id)
	if err != nil {
		return err
	}
	if r.TorrentID != 0 {
		if err := m.o.Engine.Remove(r.TorrentID, deleteData); err != nil && !errors.Is(err, engine.ErrNotFound) {
			return fmt.Errorf("remove channel torrent: %w", err)
		}
	}
	if err := m.o.Store.Delete([]byte(subPrefix + id)); err != nil {
		return fmt.Errorf("delete subscription: %w", err)
	}
	m.mu.Lock()
	delete(m.subs, id)
	delete(m.next, pollTask(id))
	delete(m.next, putTask(subKey(id)))
	delete(m.offers, id)
	m.mu.Unlock()
	if deleteData {
		os.RemoveAll(filepath.Join(r.Dir, padDir))
		os.RemoveAll(filepath.Join(r.Dir, tmpDir))
		os.Remove(r.Dir) // only if empty
	}
	m.log.Info("unsubscribed", "subscription", id, "name", r.Name, "deleteData", deleteData)
	m.notify()
	return nil
}

func (m *Manager) setState(id, state string) {
	m.mu.Lock()
	if state == "" {
		delete(m.state, id)
	} else {
		m.state[id] = state
	}
	m.mu.Unlock()
}

// errSame marks an item identical to the one held: nothing to do.
var errSame = errors.New("channel: item already held")

// checkItem decides whether a signed item may become the subscription's
// latest. It must be for this channel (key and salt), verify (size,
// signature), carry a BEP 46 infohash, and have a higher seq than the
// item held: an older seq is a replay, an equal seq with another value
// a forgery or a fork.
func checkItem(r *subRec, it mutable.Item) error {
	if it.Key != r.PublicKey || !bytes.Equal(it.Salt, r.Salt) {
		return fmt.Errorf("item is for another channel (key %x)", it.Key[:8])
	}
	if err := it.Verify(); err != nil {
		return fmt.Errorf("item seq %d: %w", it.Seq, err)
	}
	if _, err := mutable.ParseInfohashValue(it.Value); err != nil {
		return fmt.Errorf("item seq %d: %w", it.Seq, err)
	}
	if r.Item != nil {
		switch {
		case it.Seq < r.Item.Seq:
			return &olderError{seq: it.Seq, held: r.Item.Seq}
		case it.Seq == r.Item.Seq && (!bytes.Equal(it.Value, r.Item.Value) || !bytes.Equal(it.Sig[:], r.Item.Sig)):
			return fmt.Errorf("item seq %d differs from the item held with the same seq", it.Seq)
		case it.Seq == r.Item.Seq:
			return errSame
		}
	}
	return nil
}

// olderError is a valid item with a lower seq than the item held.
type olderError struct{ seq, held int64 }

func (e *olderError) Error() string {
	return fmt.Sprintf("item seq %d is older than the seq %d held (a replay)", e.seq, e.held)
}

// reject records a refused item or version: a log line and the
// subscription's status.
func (m *Manager) reject(id string, r *subRec, err error) {
	m.log.Warn("channel item or version rejected", "subscription", id, "name", r.Name, "err", err)
	r.LastReject, r.RejectedAt = err.Error(), time.Now().UTC()
}

// poll looks for a newer version and installs it.
func (m *Manager) poll(ctx context.Context, id string) {
	unlock := m.lock(subKey(id))
	defer unlock()
	defer m.setState(id, "")
	r, err := m.subCopy(id)
	if err != nil {
		return
	}
	m.setState(id, StateLooking)
	var held int64 = -1
	if r.Item != nil {
		held = r.Item.Seq
	}
	finds, peers, lookErr := m.lookup(ctx, r, held+1)
	if ctx.Err() != nil {
		return
	}
	before := r.Item
	rejected := m.take(id, r, finds)
	if r.Item != before {
		// A new item: held (and advertised on the LAN) now, not after the
		// install, which may take minutes.
		if err := m.saveSub(id, r); err != nil {
			m.log.Error("save subscription", "subscription", id, "err", err)
		}
		m.notify()
	}
	r.CheckedAt = time.Now().UTC()
	if r.TorrentID != 0 {
		if _, err := m.o.Engine.Get(strconv.FormatInt(r.TorrentID, 10)); errors.Is(err, engine.ErrNotFound) {
			// Removed from the engine behind the channel's back: add the
			// version again (the engine checks the files already here).
			m.log.Warn("channel torrent missing from the engine: adding it again", "subscription", id, "torrent", r.TorrentID)
			r.TorrentID = 0
		}
	}
	switch {
	case r.Item != nil && (r.Item.Seq > r.Seq || r.TorrentID == 0):
		err = m.install(ctx, id, r, peers)
	case r.Item == nil && lookErr != nil:
		err = fmt.Errorf("no version found yet: %w", lookErr)
	case lookErr != nil && !errors.Is(lookErr, mutable.ErrNotFound):
		err = lookErr
	default:
		err = nil
		if r.TorrentID != 0 && len(peers) > 0 {
			_ = m.o.Engine.AddPeers(r.TorrentID, peers)
		}
	}
	if ctx.Err() != nil {
		return
	}
	next := jitter(m.o.PollInterval)
	switch {
	case errors.Is(err, errSuperseded):
		// A newer version was offered during the fetch: on to it now.
		next = 0
		m.log.Info("channel check: a newer version was offered; checking again", "subscription", id, "name", r.Name, "version", r.Item.Seq)
	case err != nil:
		r.Failures++
		r.Error = err.Error()
		next = jitter(backoff(m.o.PollInterval, r.Failures))
		m.log.Info("channel check", "subscription", id, "name", r.Name, "version", r.Seq, "err", err, "retryIn", next.Round(time.Second))
	case rejected:
		r.Failures = 0
		r.Error = "rejected: " + r.LastReject
	default:
		r.Failures = 0
		r.Error = ""
	}
	if err := m.saveSub(id, r); err != nil {
		m.log.Error("save subscription", "subscription", id, "err", err)
	}
	m.mu.Lock()
	if m.subs[id] != nil {
		m.schedule(pollTask(id), time.Now().Add(next))
	}
	m.mu.Unlock()
}

// take makes the best valid item of one lookup the subscription's latest
// and reports whether an item failed a check.
//
// Items are taken highest seq first. A lower seq in the same lookup is a
// copy that is not updated yet (a neighbour that has not fetched the new
// version, a DHT node the last put missed), not a replay: it is ignored
// with a debug line. When the best answer of a lookup is itself below the
// seq held — every device asked is behind, or someone replays an old item;
// nothing tells the two apart — it is noted in lastReject and the log, but
// the subscription is not in error: a seq never goes back, so nothing
// changes. (The DHT cannot cause this: Get asks for seq held+1 and leaves
// older answers out.) Items that fail a check (signature, channel, a fork)
// are rejected as everywhere else.
func (m *Manager) take(id string, r *subRec, finds []found) (rejected bool) {
	slices.SortStableFunc(finds, func(a, b found) int { return cmp.Compare(b.it.Seq, a.it.Seq) })
	top := int64(-1) // highest valid seq of this lookup
	for _, f := range finds {
		err := checkItem(r, f.it)
		var older *olderError
		switch {
		case err == nil:
			r.Item = toItemRec(f.it)
			top = max(top, f.it.Seq)
			m.mu.Lock()
			m.schedule(putTask(subKey(id)), time.Now().Add(jitter(5*time.Second)))
			m.mu.Unlock()
		case errors.Is(err, errSame):
			top = max(top, f.it.Seq)
		case errors.As(err, &older) && top >= 0:
			m.log.Debug("older copy of a channel item ignored", "subscription", id, "from", f.from, "seq", f.it.Seq, "latest", top)
		case errors.As(err, &older):
			top = f.it.Seq
			r.LastReject = fmt.Sprintf("item seq %d from the %s is older than the seq %d held (a replay, or a copy not updated yet)", older.seq, f.from, older.held)
			r.RejectedAt = time.Now().UTC()
			m.log.Info("channel lookup found only an older item", "subscription", id, "name", r.Name, "from", f.from, "seq", older.seq, "held", older.held)
		default:
			m.reject(id, r, fmt.Errorf("%s: %w", f.from, err))
			rejected = true
		}
	}
	return rejected
}

// backoff is the delay before retry number n after failures: 30 s (or
// the poll interval if shorter), doubling, at most the poll interval.
func backoff(interval time.Duration, n int) time.Duration {
	d := min(30*time.Second, interval)
	for i := 1; i < n && d < interval; i++ {
		d *= 2
	}
	return min(d, interval)
}

// found is an item a lookup gathered, unchecked, and where from.
type found struct {
	it   mutable.Item
	from string // "LAN" or "DHT"
}

// lookup asks the LAN and the DHT for items of the subscription with a
// seq of at least minSeq (the LAN may answer older ones).
func (m *Manager) lookup(ctx context.Context, r *subRec, minSeq int64) ([]found, []string, error) {
	if m.o.DHT == nil && m.o.LAN == nil {
		return nil, nil, ErrNoDHT
	}
	lctx, cancel := context.WithTimeout(ctx, m.o.LookupTimeout)
	defer cancel()
	var (
		finds []found
		peers []string
		errs  []error
	)
	if m.o.LAN != nil {
		its, ps, err := m.o.LAN.Lookup(lctx, r.target())
		for _, it := range its {
			finds = append(finds, found{it, "LAN"})
		}
		peers = append(peers, ps...)
		if err != nil {
			errs = append(errs, fmt.Errorf("LAN: %w", err))
		}
	}
	if m.o.DHT != nil {
		it, err := m.o.DHT.Get(lctx, r.PublicKey, r.Salt, max(minSeq, 0))
		if err == nil {
			finds = append(finds, found{it, "DHT"})
		} else {
			errs = append(errs, fmt.Errorf("DHT: %w", err))
		}
	}
	if len(finds) > 0 {
		return finds, peers, nil
	}
	return nil, peers, errors.Join(errs...)
}

// putSub puts the latest item a subscription holds into the DHT again,
// so the channel stays reachable while its publisher is offline.
func (m *Manager) putSub(ctx context.Context, id string) {
	r, err := m.subCopy(id)
	if err != nil || r.Item == nil || m.o.DHT == nil {
		return
	}
	it, err := r.Item.item(r.PublicKey, r.Salt)
	if err != nil {
		m.log.Error("stored subscription item is invalid", "subscription", id, "err", err)
		return
	}
	_, err = m.put(ctx, it)
	now := time.Now()
	next := now.Add(jitter(m.o.Republish))
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.subs[id] == nil {
		return
	}
	switch {
	case errors.Is(err, mutable.ErrOutdated):
		m.schedule(pollTask(id), now) // a newer version is out: fetch it
	case err != nil:
		next = now.Add(jitter(min(m.o.Republish, 2*time.Minute)))
		m.log.Debug("subscription put into the DHT", "subscription", id, "err", err)
	default:
		m.putAt[id] = now.UTC()
		m.log.Debug("subscription put into the DHT", "subscription", id, "version", it.Seq)
	}
	m.schedule(putTask(subKey(id)), next)
}

// update is how a new version is laid over the files of the previous one.
type update struct {
	entries []entry
	removed []string // paths of the old version whose content is gone
	moved   []string // paths of the old version whose content moved
	// newFiles and newBytes count files whose content the old version did
	// not have; reused files are counted apart.
	newFiles  int
	newBytes  int64
	newPaths  []string
	reused    int
	reusedLen int64
}

// entry is one file of the new version.
type entry struct {
	f    *vfile
	from string // the old path holding the same content; "" = download it
}

// planUpdate decides which files of nv come from the old version (same
// length, SHA-256 and piece hashes, complete there) and which must be
// downloaded. complete tells, by torrent file index of old, which files
// were verified.
func planUpdate(old *version, complete map[int]bool, nv *version) update {
	var u update
	bySum := map[[32]byte][]*vfile{}
	known := map[[32]byte]bool{}
	if old != nil {
		for i := range old.Files {
			o := &old.Files[i]
			known[o.SHA256] = true
			if complete[o.Index] {
				bySum[o.SHA256] = append(bySum[o.SHA256], o)
			}
		}
	}
	newPaths := map[string]bool{}
	for i := range nv.Files {
		f := &nv.Files[i]
		p := f.pathString()
		newPaths[p] = true
		e := entry{f: f}
		var src *vfile
		for _, o := range bySum[f.SHA256] {
			if o.Length == f.Length && bytes.Equal(o.Pieces, f.Pieces) {
				if src == nil || o.pathString() == p {
					src = o // prefer the file already at this path
				}
			}
		}
		if src != nil {
			e.from = src.pathString()
			u.reused++
			u.reusedLen += f.Length
		}
		if !known[f.SHA256] {
			u.newFiles++
			u.newBytes += f.Length
			u.newPaths = append(u.newPaths, p)
		}
		u.entries = append(u.entries, e)
	}
	if old != nil {
		inNew := map[[32]byte]bool{}
		for i := range nv.Files {
			inNew[nv.Files[i].SHA256] = true
		}
		for i := range old.Files {
			o := &old.Files[i]
			switch p := o.pathString(); {
			case newPaths[p]:
			case inNew[o.SHA256]:
				u.moved = append(u.moved, p)
			default:
				u.removed = append(u.removed, p)
			}
		}
	}
	return u
}

// apply lays the files of the plan out in dir and returns the pieces of
// the new version that are in place and verified. Files reused from
// another path are hard-linked to a staging folder first, then renamed
// into place, so swaps and moves never lose a file. A reused file whose
// size on disk is wrong is downloaded instead.
func (u *update) apply(dir string, nv *version, keepRemoved bool) ([]int, error) {
	tmp := filepath.Join(dir, tmpDir)
	if err := os.RemoveAll(tmp); err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	var verified []int
	mark := func(f *vfile) {
		for p := range f.numPieces(nv.PieceLength) {
			verified = append(verified, f.FirstPiece+p)
		}
	}
	type stage struct {
		tmp, to string
		f       *vfile
	}
	var staged []stage
	for i, e := range u.entries {
		if e.from == "" {
			continue
		}
		src := filepath.Join(dir, filepath.FromSlash(e.from))
		if fi, err := os.Stat(src); err != nil || !fi.Mode().IsRegular() || fi.Size() != e.f.Length {
			continue // gone or changed on disk: download it
		}
		to := filepath.Join(dir, filepath.FromSlash(e.f.pathString()))
		if e.from == e.f.pathString() {
			mark(e.f)
			continue
		}
		if err := os.MkdirAll(tmp, 0o755); err != nil {
			return nil, err
		}
		t := filepath.Join(tmp, strconv.Itoa(i))
		if err := linkOrCopy(src, t); err != nil {
			return nil, fmt.Errorf("stage %s: %w", e.from, err)
		}
		staged = append(staged, stage{t, to, e.f})
	}
	for _, s := range staged {
		if err := os.MkdirAll(filepath.Dir(s.to), 0o755); err != nil {
			return nil, err
		}
		if err := os.Rename(s.tmp, s.to); err != nil {
			return nil, fmt.Errorf("move reused file into place: %w", err)
		}
		mark(s.f)
	}
	gone := u.moved
	if !keepRemoved {
		gone = append(slices.Clone(gone), u.removed...)
	}
	for _, p := range gone {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.Remove(full); err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("delete removed file: %w", err)
		}
		for d := filepath.Dir(full); len(d) > len(dir); d = filepath.Dir(d) {
			if os.Remove(d) != nil {
				break // not empty
			}
		}
	}
	if err := makePads(dir, nv); err != nil {
		return nil, fmt.Errorf("create padding files: %w", err)
	}
	slices.Sort(verified)
	return verified, nil
}

// install fetches, checks and installs the version r.Item points at.
// Nothing is written before the version passed every check.
func (m *Manager) install(ctx context.Context, id string, r *subRec, peers []string) error {
	ih, err := mutable.ParseInfohashValue(r.Item.Value)
	if err != nil {
		return err // checkItem let it through: cannot happen
	}
	ihHex := metainfo.Hash(ih).HexString()
	seq := r.Item.Seq
	if r.BadSeq == seq {
		return fmt.Errorf("version %d was rejected; waiting for a newer one", seq)
	}
	m.setState(id, StateFetching)
	b, peers, err := m.fetchInfo(ctx, id, r.Name, seq, ih, append(slices.Clone(r.Peers), peers...))
	var ie *engine.InputError
	if errors.As(err, &ie) {
		m.reject(id, r, fmt.Errorf("version %d (%s) rejected: %w", seq, ihHex, err))
		r.BadSeq = seq
		return errors.New(r.LastReject)
	}
	if err != nil {
		return fetchError(seq, err)
	}
	nv, err := parseVersion(b)
	if err != nil {
		m.reject(id, r, fmt.Errorf("version %d (%s) rejected: %w", seq, ihHex, err))
		r.BadSeq = seq
		return errors.New(r.LastReject)
	}
	// The previous version: its files and which of them are verified.
	var (
		old      *version
		complete = map[int]bool{}
	)
	if r.TorrentID != 0 && r.InfoHash != "" && r.InfoHash != ihHex {
		if t, err := m.o.Engine.Get(strconv.FormatInt(r.TorrentID, 10)); err == nil && t.InfoHash == r.InfoHash {
			if ob, err := m.o.Engine.FetchInfo(ctx, metainfo.NewHashFromHex(r.InfoHash), nil); err == nil {
				old, _ = parseVersion(ob)
			}
			for _, f := range t.Files {
				complete[f.Index] = f.Done == f.Size
			}
		}
	}
	u := planUpdate(old, complete, nv)
	if r.TorrentID != 0 && r.InfoHash != ihHex {
		if err := m.o.Engine.Remove(r.TorrentID, false); err != nil && !errors.Is(err, engine.ErrNotFound) {
			return fmt.Errorf("stop previous version: %w", err)
		}
		r.TorrentID = 0
		if err := m.saveSub(id, r); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return fmt.Errorf("create subscription folder: %w", err)
	}
	verified, err := u.apply(r.Dir, nv, r.KeepRemoved)
	if err != nil {
		return fmt.Errorf("lay out version %d: %w", seq, err)
	}
	// In place: the files live in the subscription's folder, where the
	// next version reuses them, never in the incomplete folder.
	t, _, err := m.o.Engine.Add(ctx, engine.AddRequest{
		Metainfo: torrentFile(b, m.webSeeds(r.PublicKey, seq)), Dir: r.Dir, Name: r.Name, VerifiedPieces: verified, Peers: peers, InPlace: true,
	})
	if err != nil {
		return fmt.Errorf("add version %d: %w", seq, err)
	}
	m.seedForever(t.ID)
	if seq != r.Seq || r.InfoHash != ihHex { // not a re-install of the same version
		r.NewItems += u.newFiles
		r.NewPaths = append(r.NewPaths, u.newPaths...)
		if n := len(r.NewPaths); n > maxNewPaths {
			r.NewPaths = slices.Clone(r.NewPaths[n-maxNewPaths:])
		}
	}
	r.Seq, r.InfoHash, r.TorrentID = seq, ihHex, t.ID
	r.Files, r.Bytes, r.UpdatedAt = len(nv.Files), nv.Bytes, time.Now().UTC()
	r.LastUpdated = u.newBytes
	m.dropOffer(id, seq)
	m.log.Info("channel updated", "subscription", id, "name", r.Name, "version", seq, "infoHash", ihHex,
		"files", len(nv.Files), "newFiles", u.newFiles, "newBytes", u.newBytes, "reusedFiles", u.reused,
		"moved", len(u.moved), "removed", len(u.removed), "keepRemoved", r.KeepRemoved)
	return nil
}
