package channel

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/link"
	"github.com/hearth-media/hearth/engine/mutable"
	"github.com/hearth-media/hearth/engine/store"
)

// Channel is the status of a channel this device publishes. It never
// holds the secret key.
type Channel struct {
	Name      string `json:"name"`
	PublicKey string `json:"publicKey"` // 64 hex digits
	Salt      string `json:"salt,omitempty"`
	Link      string `json:"link"`
	Dir       string `json:"dir"` // the folder whose content is published
	// Version is the seq of the last published version; 0 = not yet.
	Version     int64     `json:"version"`
	InfoHash    string    `json:"infoHash,omitempty"`
	TorrentID   int64     `json:"torrentId,omitempty"`
	Items       int       `json:"items"` // files in the last version
	Bytes       int64     `json:"bytes"`
	PieceLength int64     `json:"pieceLength"`
	Changed     bool      `json:"changed"` // content changed since the last publish
	NextPublish time.Time `json:"nextPublish,omitzero"`
	CreatedAt   time.Time `json:"createdAt"`
	PublishedAt time.Time `json:"publishedAt,omitzero"`
	PutAt       time.Time `json:"putAt,omitzero"` // last DHT put
	PutNodes    int       `json:"putNodes"`       // DHT nodes that took it
	Error       string    `json:"error,omitempty"`
}

// ItemInfo is one file of a channel's folder.
type ItemInfo struct {
	Path string `json:"path"` // slash separated, inside the channel
	Size int64  `json:"size"`
}

func inputErrorf(format string, args ...any) error {
	return &engine.InputError{Msg: fmt.Sprintf(format, args...)}
}

// checkName checks a channel name: it names a folder and an API path.
func checkName(name string) error {
	switch {
	case name == "":
		return inputErrorf("channel name is empty")
	case len(name) > 100:
		return inputErrorf("channel name is longer than 100 bytes")
	case !utf8.ValidString(name) || link.CleanName(name) != name:
		return inputErrorf("channel name %s has control characters or surrounding spaces", quote(name))
	case strings.HasPrefix(name, "."):
		return inputErrorf("channel name %s starts with a dot", quote(name))
	}
	if err := link.SafePath([]string{name}); err != nil {
		return inputErrorf("channel name %s: %v", quote(name), err)
	}
	return nil
}

func ownKeys(r *ownRec) (pub [32]byte, priv ed25519.PrivateKey) {
	priv = ed25519.NewKeyFromSeed(r.Seed)
	copy(pub[:], priv.Public().(ed25519.PublicKey))
	return pub, priv
}

func (m *Manager) contentDir(name string) string { return filepath.Join(m.o.Dir, name) }

// Create makes a channel with a new key. Its folder (Dir/name) may
// already hold files: they are the first version's content.
func (m *Manager) Create(name string, salt []byte) (Channel, error) {
	if err := checkName(name); err != nil {
		return Channel{}, err
	}
	if len(salt) > mutable.MaxSaltSize {
		return Channel{}, inputErrorf("salt is %d bytes, more than %d", len(salt), mutable.MaxSaltSize)
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return Channel{}, err
	}
	return m.addOwn(&ownRec{Name: name, Seed: seed, Salt: bytes.Clone(salt), PieceLength: m.o.PieceLength})
}

func (m *Manager) addOwn(r *ownRec) (Channel, error) {
	unlock := m.lock(ownKey(r.Name))
	defer unlock()
	pub, _ := ownKeys(r)
	m.mu.Lock()
	_, dup := m.own[r.Name]
	for _, o := range m.own {
		if op, _ := ownKeys(o); op == pub && bytes.Equal(o.Salt, r.Salt) {
			dup = true
		}
	}
	_, following := m.subs[subID(mutable.Target(pub, r.Salt))]
	m.mu.Unlock()
	if dup {
		return Channel{}, fmt.Errorf("%w: channel %s", ErrExists, quote(r.Name))
	}
	if following {
		return Channel{}, inputErrorf("this device follows that channel: unsubscribe first")
	}
	dir := m.contentDir(r.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Channel{}, fmt.Errorf("create channel folder: %w", err)
	}
	now := time.Now().UTC()
	r.CreatedAt = now
	if files, _ := m.listFiles(dir); len(files) > 0 {
		r.Changed, r.ChangedAt = true, now
	}
	if err := saveJSON(m.o.Store, ownPrefix+r.Name, r); err != nil {
		return Channel{}, err
	}
	c := *r
	m.mu.Lock()
	m.own[r.Name] = &c
	if r.Changed {
		m.schedulePublish(r)
	}
	st := m.channelStatus(r)
	m.mu.Unlock()
	m.log.Info("channel created", "channel", r.Name, "publicKey", st.PublicKey)
	return st, nil
}

// schedulePublish plans the automatic publish after a change. Called
// with m.mu held.
func (m *Manager) schedulePublish(r *ownRec) {
	if m.o.PublishDelay >= 0 {
		// Not schedule: each change pushes the publish back (debounce).
		m.next[publishTask(r.Name)] = r.ChangedAt.Add(m.o.PublishDelay)
	}
}

// Channels lists the channels this device publishes, by name.
func (m *Manager) Channels() []Channel {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Channel, 0, len(m.own))
	for _, r := range m.own {
		out = append(out, m.channelStatus(r))
	}
	slices.SortFunc(out, func(a, b Channel) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Channel returns one channel's status.
func (m *Manager) Channel(name string) (Channel, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.own[name]
	if r == nil {
		return Channel{}, fmt.Errorf("%w: no channel %s", ErrNotFound, quote(name))
	}
	return m.channelStatus(r), nil
}

// channelStatus is called with m.mu held.
func (m *Manager) channelStatus(r *ownRec) Channel {
	pub, _ := ownKeys(r)
	c := Channel{
		Name: r.Name, PublicKey: hex.EncodeToString(pub[:]), Salt: hex.EncodeToString(r.Salt),
		Link: Link{PublicKey: pub, Salt: r.Salt, Name: r.Name}.String(),
		Dir:  m.contentDir(r.Name), Version: r.Seq, InfoHash: r.InfoHash, TorrentID: r.TorrentID,
		Items: r.Files, Bytes: r.Bytes, PieceLength: r.PieceLength, Changed: r.Changed,
		CreatedAt: r.CreatedAt, PublishedAt: r.PublishedAt, PutAt: r.PutAt, PutNodes: r.PutNodes, Error: r.Error,
	}
	if r.Changed {
		c.NextPublish = m.next[publishTask(r.Name)]
	}
	return c
}

// Link returns the channel's link to share.
func (m *Manager) Link(name string) (string, error) {
	c, err := m.Channel(name)
	return c.Link, err
}

// ownCopy returns a copy of a channel's record.
func (m *Manager) ownCopy(name string) (*ownRec, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.own[name]
	if r == nil {
		return nil, fmt.Errorf("%w: no channel %s", ErrNotFound, quote(name))
	}
	c := *r
	return &c, nil
}

// saveOwn stores r and makes a copy of it the live record.
func (m *Manager) saveOwn(r *ownRec) error {
	if err := saveJSON(m.o.Store, ownPrefix+r.Name, r); err != nil {
		return err
	}
	c := *r
	m.mu.Lock()
	if m.own[r.Name] != nil {
		m.own[r.Name] = &c
	}
	m.mu.Unlock()
	return nil
}

// changed marks a channel's content changed and plans its publish.
func (m *Manager) changed(r *ownRec) error {
	r.Changed, r.ChangedAt = true, time.Now().UTC()
	if err := m.saveOwn(r); err != nil {
		return err
	}
	m.mu.Lock()
	m.schedulePublish(r)
	m.mu.Unlock()
	m.kick()
	return nil
}

// AddItems puts files and folders (absolute paths on this device) into
// the channel, each under its base name. Files are hard-linked when the
// channel folder is on the same file system, else copied: the channel
// keeps its own view of the files, so editing or deleting an original
// does not corrupt what subscribers are fetching. Symbolic links and
// special files are skipped. It returns the names added.
func (m *Manager) AddItems(name string, paths []string) ([]string, error) {
	unlock := m.lock(ownKey(name))
	defer unlock()
	r, err := m.ownCopy(name)
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, inputErrorf("no files or folders to add")
	}
	dir := m.contentDir(name)
	type job struct{ src, dst, base string }
	var jobs []job
	for _, p := range paths {
		if !filepath.IsAbs(p) {
			return nil, inputErrorf("%s is not an absolute path", quote(p))
		}
		p = filepath.Clean(p)
		fi, err := os.Lstat(p)
		if err != nil {
			return nil, inputErrorf("%s: %v", quote(p), errors.Unwrap(err))
		}
		if !fi.Mode().IsRegular() && !fi.IsDir() {
			return nil, inputErrorf("%s is not a file or a folder", quote(p))
		}
		base := filepath.Base(p)
		if strings.HasPrefix(base, ".") || link.SafePath([]string{base}) != nil {
			return nil, inputErrorf("%s: the name cannot be published (hidden or unsafe)", quote(p))
		}
		if rel, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(rel, "..") {
			return nil, inputErrorf("%s is already inside the channel folder", quote(p))
		}
		dst := filepath.Join(dir, base)
		if _, err := os.Lstat(dst); err == nil {
			return nil, fmt.Errorf("%w: the channel already has an item named %s", ErrExists, quote(base))
		}
		jobs = append(jobs, job{p, dst, base})
	}
	var added []string
	for _, j := range jobs {
		if err := copyTree(j.src, j.dst); err != nil {
			return added, fmt.Errorf("add %s: %w", j.src, err)
		}
		added = append(added, j.base)
	}
	m.log.Info("channel items added", "channel", name, "items", len(added))
	return added, m.changed(r)
}

// copyTree hard-links or copies src (a file or folder) to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			if rel != "." && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			if rel != "." && strings.HasPrefix(d.Name(), ".") {
				return nil
			}
			return linkOrCopy(p, target)
		}
		return nil // symlinks, devices, sockets
	})
}

// linkOrCopy hard-links src to dst, or copies it when a link is not
// possible (another file system, no permission).
func linkOrCopy(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".hearth-copy"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}

// RemoveItem removes a file or folder (slash-separated path inside the
// channel) from the channel's folder.
func (m *Manager) RemoveItem(name, item string) error {
	unlock := m.lock(ownKey(name))
	defer unlock()
	r, err := m.ownCopy(name)
	if err != nil {
		return err
	}
	parts := strings.Split(strings.Trim(item, "/"), "/")
	if err := link.SafePath(parts); err != nil || parts[0] == padDir || parts[0] == tmpDir {
		return inputErrorf("item %s is not a path inside the channel", quote(item))
	}
	p := filepath.Join(append([]string{m.contentDir(name)}, parts...)...)
	if _, err := os.Lstat(p); err != nil {
		return fmt.Errorf("%w: channel %s has no item %s", ErrNotFound, quote(name), quote(item))
	}
	if err := os.RemoveAll(p); err != nil {
		return fmt.Errorf("remove item: %w", err)
	}
	m.log.Info("channel item removed", "channel", name, "item", item)
	return m.changed(r)
}

// Items lists the files in a channel's folder (what the next version
// will hold).
func (m *Manager) Items(name string) ([]ItemInfo, error) {
	if _, err := m.ownCopy(name); err != nil {
		return nil, err
	}
	files, err := m.listFiles(m.contentDir(name))
	if err != nil {
		return nil, err
	}
	out := make([]ItemInfo, len(files))
	for i, f := range files {
		out[i] = ItemInfo{Path: strings.Join(f.rel, "/"), Size: f.size}
	}
	return out, nil
}

// diskFile is a file found in a channel folder.
type diskFile struct {
	rel   []string
	abs   string
	size  int64
	mtime int64
	inode uint64
}

// listFiles walks a channel folder: regular, non-empty files whose names
// can be published; hidden entries (.pad, .hearth-tmp, dot files) are
// left out.
func (m *Manager) listFiles(root string) ([]diskFile, error) {
	var out []diskFile
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root && errors.Is(err, fs.ErrNotExist) {
				return filepath.SkipAll
			}
			return err
		}
		if p == root {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if link.SafePath(parts) != nil {
			m.log.Warn("channel file skipped: its name cannot be published", "path", p)
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Size() == 0 {
			return nil
		}
		df := diskFile{rel: parts, abs: p, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			df.inode = uint64(st.Ino)
		}
		out = append(out, df)
		return nil
	})
	return out, err
}

// Publish makes a version of the channel's current content and puts it
// in the DHT: a v1 torrent of the folder (see doc.go), seeded by this
// device, signed as seq = last + 1 (or above the highest seq the DHT
// holds for the key, if another device published with it). Content that
// did not change since the last version publishes nothing new.
func (m *Manager) Publish(ctx context.Context, name string) (Channel, error) {
	unlock := m.lock(ownKey(name))
	defer unlock()
	r, err := m.ownCopy(name)
	if err != nil {
		return Channel{}, err
	}
	m.mu.Lock()
	delete(m.next, publishTask(name))
	m.mu.Unlock()
	dir := m.contentDir(name)
	disk, err := m.listFiles(dir)
	if err != nil {
		return Channel{}, fmt.Errorf("read channel folder: %w", err)
	}
	if len(disk) == 0 {
		return Channel{}, inputErrorf("channel %s has nothing to publish: add files first", quote(name))
	}
	var total int64
	for _, f := range disk {
		total += f.size
	}
	pl := piecesFor(r.PieceLength, total)
	files, err := m.hashFiles(ctx, name, pl, disk)
	if err != nil {
		return Channel{}, err
	}
	v, err := buildInfo(pl, files)
	if err != nil {
		return Channel{}, err
	}
	ih := metainfo.Hash(v.InfoHash).HexString()
	if err := makePads(dir, v); err != nil {
		return Channel{}, fmt.Errorf("create padding files: %w", err)
	}
	all := make([]int, v.NumPieces)
	for i := range all {
		all[i] = i
	}
	if ih == r.InfoHash && r.Item != nil {
		_, err := m.o.Engine.Get(strconv.FormatInt(r.TorrentID, 10))
		if errors.Is(err, engine.ErrNotFound) {
			// Removed from the engine behind the channel's back: seed it again.
			pub, _ := ownKeys(r)
			t, _, err := m.o.Engine.Add(ctx, engine.AddRequest{Metainfo: torrentFile(v.InfoBytes, m.webSeeds(pub, r.Seq)), Dir: dir, Name: name, VerifiedPieces: all, InPlace: true})
			if err != nil {
				return Channel{}, fmt.Errorf("seed version %d again: %w", r.Seq, err)
			}
			m.seedForever(t.ID)
			r.TorrentID = t.ID
			m.log.Warn("channel torrent was missing from the engine: seeding it again", "channel", name, "torrent", t.ID)
		}
		r.Changed = false
		if err := m.saveOwn(r); err != nil {
			return Channel{}, err
		}
		m.log.Info("channel unchanged: nothing to publish", "channel", name, "version", r.Seq)
		return m.Channel(name)
	}
	pub, priv := ownKeys(r)
	seq := r.Seq + 1
	if m.o.DHT != nil {
		gctx, cancel := context.WithTimeout(ctx, min(m.o.LookupTimeout, 10*time.Second))
		it, err := m.o.DHT.Get(gctx, pub, r.Salt, seq)
		cancel()
		if err == nil && it.Seq >= seq {
			m.log.Warn("the DHT holds a newer version of this channel: its key is used on another device too", "channel", name, "seq", it.Seq)
			seq = it.Seq + 1
		}
	}
	item, err := mutable.Sign(priv, r.Salt, seq, mutable.InfohashValue(v.InfoHash))
	if err != nil {
		return Channel{}, fmt.Errorf("sign version: %w", err)
	}
	t, _, err := m.o.Engine.Add(ctx, engine.AddRequest{
		Metainfo: torrentFile(v.InfoBytes, m.webSeeds(pub, seq)), Dir: dir, Name: name, VerifiedPieces: all, InPlace: true,
	})
	if err != nil {
		return Channel{}, fmt.Errorf("seed version %d: %w", seq, err)
	}
	m.seedForever(t.ID)
	if r.TorrentID != 0 && r.TorrentID != t.ID {
		if err := m.o.Engine.Remove(r.TorrentID, false); err != nil && !errors.Is(err, engine.ErrNotFound) {
			m.log.Warn("remove previous version's torrent", "channel", name, "torrent", r.TorrentID, "err", err)
		}
	}
	now := time.Now().UTC()
	r.Seq, r.Item, r.InfoHash, r.TorrentID = seq, toItemRec(item), ih, t.ID
	r.Files, r.Bytes, r.PieceLength = len(v.Files), v.Bytes, pl
	r.Changed, r.PublishedAt, r.Error = false, now, ""
	if err := m.saveOwn(r); err != nil {
		return Channel{}, err
	}
	m.mu.Lock()
	m.schedule(putTask(ownKey(name)), now)
	m.mu.Unlock()
	m.kick()
	m.log.Info("channel published", "channel", name, "version", seq, "infoHash", ih, "files", len(v.Files), "bytes", v.Bytes, "pieceLength", pl)
	m.notify()
	return m.Channel(name)
}

// seedForever exempts a channel torrent from the seeding limits: the
// swarm of a channel is its subscribers.
func (m *Manager) seedForever(id int64) {
	zero, never := 0.0, time.Duration(0)
	if err := m.o.Engine.SetOptions(id, engine.OptionsPatch{SeedRatio: &zero, SeedIdle: &never}); err != nil {
		m.log.Warn("set seeding options", "torrent", id, "err", err)
	}
}

// torrentFile wraps an info dictionary in a .torrent file, with the web
// seeds as url-list (BEP 19) when there are any.
func torrentFile(info []byte, webSeeds []string) []byte {
	b := make([]byte, 0, len(info)+8)
	b = append(b, "d4:info"...)
	b = append(b, info...)
	if len(webSeeds) > 0 {
		b = append(b, "8:url-listl"...)
		for _, u := range webSeeds {
			b = strconv.AppendInt(b, int64(len(u)), 10)
			b = append(b, ':')
			b = append(b, u...)
		}
		b = append(b, 'e')
	}
	return append(b, 'e')
}

// webSeeds asks Options.WebSeeds for a version's web seeds.
func (m *Manager) webSeeds(pub [32]byte, seq int64) []string {
	if m.o.WebSeeds == nil {
		return nil
	}
	return m.o.WebSeeds(hex.EncodeToString(pub[:]), seq)
}

// hashFiles returns the files' hashes for piece length pl, from the cache
// when a file's size, modification time and inode did not change, and
// drops cache entries of files that are gone.
func (m *Manager) hashFiles(ctx context.Context, name string, pl int64, disk []diskFile) ([]vfile, error) {
	out := make([]vfile, 0, len(disk))
	keep := map[string]bool{}
	for _, f := range disk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		key := hashKey(name, strings.Join(f.rel, "/"), pl)
		keep[string(key)] = true
		var h hashRec
		if b, err := m.o.Store.Get(key); err == nil && h.unmarshal(b) == nil &&
			h.Size == f.size && h.ModTime == f.mtime && h.Inode == f.inode {
			out = append(out, vfile{Path: f.rel, Length: f.size, SHA256: h.SHA256, Pieces: h.Pieces})
			continue
		}
		sum, pieces, n, err := hashFile(f.abs, pl)
		if err != nil {
			return nil, fmt.Errorf("hash %s: %w", f.abs, err)
		}
		if n != f.size {
			return nil, fmt.Errorf("hash %s: it changed while being read", f.abs)
		}
		h = hashRec{Size: f.size, ModTime: f.mtime, Inode: f.inode, SHA256: sum, Pieces: pieces}
		if err := m.o.Store.Set(key, h.marshal()); err != nil {
			return nil, fmt.Errorf("cache hashes: %w", err)
		}
		out = append(out, vfile{Path: f.rel, Length: f.size, SHA256: sum, Pieces: pieces})
	}
	var stale [][]byte
	_ = m.o.Store.Scan([]byte(hashPrefix+name+"\x00"), func(k, _ []byte) error {
		if !keep[string(k)] {
			stale = append(stale, bytes.Clone(k))
		}
		return nil
	})
	for _, k := range stale {
		_ = m.o.Store.Delete(k)
	}
	return out, nil
}

// makePads creates the version's padding files in dir as sparse files
// of zeros (anacrolix reads them like any file) and removes unused ones.
func makePads(dir string, v *version) error {
	want := map[string]bool{}
	for _, f := range v.Files {
		if pad := padLen(f.Length, v.PieceLength); pad > 0 {
			want[strconv.FormatInt(pad, 10)] = true
		}
	}
	pd := filepath.Join(dir, padDir)
	if err := os.MkdirAll(pd, 0o755); err != nil {
		return err
	}
	for n := range want {
		size, _ := strconv.ParseInt(n, 10, 64)
		p := filepath.Join(pd, n)
		if fi, err := os.Stat(p); err == nil && fi.Size() == size {
			continue
		}
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		err = f.Truncate(size)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	removeUnusedPads(dir, want)
	return nil
}

// removeUnusedPads deletes padding files no version needs any more.
func removeUnusedPads(dir string, want map[string]bool) {
	pd := filepath.Join(dir, padDir)
	entries, _ := os.ReadDir(pd)
	for _, e := range entries {
		if !want[e.Name()] {
			os.Remove(filepath.Join(pd, e.Name()))
		}
	}
	os.Remove(pd) // only if empty
}

// putOwn puts a channel's latest item into the DHT again.
func (m *Manager) putOwn(ctx context.Context, name string) {
	r, err := m.ownCopy(name)
	if err != nil || r.Item == nil || m.o.DHT == nil {
		return
	}
	pub, _ := ownKeys(r)
	it, err := r.Item.item(pub, r.Salt)
	if err != nil {
		m.log.Error("stored channel item is invalid", "channel", name, "err", err)
		return
	}
	if _, err := m.o.Engine.Get(strconv.FormatInt(r.TorrentID, 10)); errors.Is(err, engine.ErrNotFound) {
		m.mu.Lock()
		m.schedule(publishTask(name), time.Now()) // seeds the version again
		m.mu.Unlock()
	}
	n, err := m.put(ctx, it)
	unlock := m.lock(ownKey(name))
	defer unlock()
	cur, cerr := m.ownCopy(name)
	if cerr != nil || cur.Seq != r.Seq {
		return // deleted or published again meanwhile
	}
	now := time.Now().UTC()
	nextPut := now.Add(jitter(m.o.Republish))
	if err != nil {
		cur.Error = "DHT put: " + err.Error()
		nextPut = now.Add(jitter(min(m.o.Republish, 2*time.Minute)))
		m.log.Warn("channel put into the DHT", "channel", name, "version", r.Seq, "err", err)
	} else {
		cur.Error, cur.PutAt, cur.PutNodes = "", now, n
		m.log.Info("channel put into the DHT", "channel", name, "version", r.Seq, "nodes", n)
	}
	if err := m.saveOwn(cur); err != nil {
		m.log.Error("save channel", "channel", name, "err", err)
	}
	m.mu.Lock()
	m.schedule(putTask(ownKey(name)), nextPut)
	m.mu.Unlock()
}

func (m *Manager) put(ctx context.Context, it mutable.Item) (int, error) {
	if m.o.DHT == nil {
		return 0, ErrNoDHT
	}
	pctx, cancel := context.WithTimeout(ctx, 2*m.o.LookupTimeout)
	defer cancel()
	return m.o.DHT.Put(pctx, it)
}

// DeleteChannel stops publishing a channel and forgets its key; with
// deleteData its folder goes too. Subscribers keep what they have.
func (m *Manager) DeleteChannel(name string, deleteData bool) error {
	unlock := m.lock(ownKey(name))
	defer unlock()
	r, err := m.ownCopy(name)
	if err != nil {
		return err
	}
	if r.TorrentID != 0 {
		if err := m.o.Engine.Remove(r.TorrentID, false); err != nil && !errors.Is(err, engine.ErrNotFound) {
			return fmt.Errorf("remove channel torrent: %w", err)
		}
	}
	err = m.o.Store.Update(func(tx store.Txn) error {
		var keys [][]byte
		if err := tx.Scan([]byte(hashPrefix+name+"\x00"), func(k, _ []byte) error {
			keys = append(keys, bytes.Clone(k))
			return nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		return tx.Delete([]byte(ownPrefix + name))
	})
	if err != nil {
		return fmt.Errorf("delete channel: %w", err)
	}
	m.mu.Lock()
	delete(m.own, name)
	delete(m.next, publishTask(name))
	delete(m.next, putTask(ownKey(name)))
	m.mu.Unlock()
	if deleteData {
		if err := os.RemoveAll(m.contentDir(name)); err != nil {
			return fmt.Errorf("delete channel folder: %w", err)
		}
	}
	m.log.Info("channel deleted", "channel", name, "deleteData", deleteData)
	if r.Item != nil {
		m.notify()
	}
	return nil
}

// KeyBackup is the export format of a channel's key. It holds the
// secret: whoever has it can publish as the channel.
type KeyBackup struct {
	Format    string `json:"format"` // "hearth-channel-key-1"
	Name      string `json:"name"`
	PublicKey string `json:"publicKey"`
	Salt      string `json:"salt,omitempty"`
	SecretKey string `json:"secretKey"` // ed25519 seed, hex
	Seq       int64  `json:"seq"`
}

const keyFormat = "hearth-channel-key-1"

// ExportKey returns a channel's key backup (JSON). It is the only way the
// secret key leaves the manager.
func (m *Manager) ExportKey(name string) ([]byte, error) {
	r, err := m.ownCopy(name)
	if err != nil {
		return nil, err
	}
	pub, _ := ownKeys(r)
	m.log.Info("channel key exported", "channel", name)
	return json.MarshalIndent(KeyBackup{
		Format: keyFormat, Name: r.Name, PublicKey: hex.EncodeToString(pub[:]),
		Salt: hex.EncodeToString(r.Salt), SecretKey: hex.EncodeToString(r.Seed), Seq: r.Seq,
	}, "", "  ")
}

// ImportKey makes a channel from a key backup, named name (or the
// backup's name if empty). Its next version is numbered above the
// backup's and above whatever the DHT holds.
func (m *Manager) ImportKey(backup []byte, name string) (Channel, error) {
	var kb KeyBackup
	dec := json.NewDecoder(bytes.NewReader(backup))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&kb); err != nil {
		return Channel{}, inputErrorf("key backup is not valid JSON: %v", err)
	}
	if kb.Format != keyFormat {
		return Channel{}, inputErrorf("key backup format %s, want %s", quote(kb.Format), keyFormat)
	}
	seed, err := hex.DecodeString(kb.SecretKey)
	if err != nil || len(seed) != ed25519.SeedSize {
		return Channel{}, inputErrorf("key backup: the secret key is not 64 hex digits")
	}
	salt, err := hex.DecodeString(kb.Salt)
	if err != nil || len(salt) > mutable.MaxSaltSize {
		return Channel{}, inputErrorf("key backup: bad salt")
	}
	r := &ownRec{Seed: seed, Salt: salt, Seq: max(kb.Seq, 0), PieceLength: m.o.PieceLength, Name: kb.Name}
	if pub, _ := ownKeys(r); hex.EncodeToString(pub[:]) != strings.ToLower(kb.PublicKey) {
		return Channel{}, inputErrorf("key backup: the public key does not match the secret key")
	}
	if len(r.Salt) == 0 {
		r.Salt = nil
	}
	if name != "" {
		r.Name = name
	}
	if err := checkName(r.Name); err != nil {
		return Channel{}, err
	}
	return m.addOwn(r)
}
