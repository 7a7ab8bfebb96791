// Package library is Hearth's media index: every file of every torrent
// (channel subscriptions are torrents too) with its kind (video, audio,
// photo, document, other) and what its headers tell cheaply — photo
// dimensions, EXIF date taken and orientation, container and duration of
// video and audio. It serves no HTTP.
//
// The index lives in the engine's store under "lib/":
//
//	lib/f/<torrent id>/<file index>        → Item (JSON)
//	lib/a/<^added><torrent id><file index> → ""   newest added first
//	lib/d/<^date><torrent id><file index>  → ""   newest taken (else added) first
//	lib/t/<torrent id>                     → what the torrent looked like when indexed
//
// (numbers in fixed-width hex; ^x is MaxInt64-x so that ascending key order
// is newest first). Queries walk one ordering and stop after a page, so
// memory stays bounded by the page size whatever the number of files.
//
// Indexing is incremental: Sync compares each torrent's cheap signature
// (metadata, verified bytes, name) with the stored one and only looks again
// at torrents that changed. A file is listed (kind from its extension) as
// soon as the metadata is known, and probed (magic bytes and headers) once
// it is complete, read from disk: probing never makes the engine fetch
// pieces.
package library

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/store"
)

// Source is what the library needs from the engine; *engine.Engine
// implements it.
type Source interface {
	List() []engine.Torrent
	Get(ref string) (engine.Torrent, error)
	OpenFile(ctx context.Context, id int64, index int) (engine.FileReader, error)
}

var _ Source = (*engine.Engine)(nil)

// Item is one indexed file.
type Item struct {
	Torrent     int64         `json:"torrent"`
	Index       int           `json:"index"`
	Path        string        `json:"path"` // inside the torrent, slash separated (engine.File.Path)
	Name        string        `json:"name"` // base name
	Size        int64         `json:"size"`
	Kind        Kind          `json:"kind"`
	Container   string        `json:"container,omitempty"`
	Width       int           `json:"width,omitempty"`
	Height      int           `json:"height,omitempty"`
	Orientation int           `json:"orientation,omitempty"`
	Taken       time.Time     `json:"taken,omitzero"`
	Duration    time.Duration `json:"duration,omitempty"` // nanoseconds
	Added       time.Time     `json:"added"`              // when its torrent was added
	Complete    bool          `json:"complete"`
	Probed      bool          `json:"probed"` // headers read (only once complete)
}

// Library is safe for concurrent use: Sync runs one at a time (Serve calls
// it), queries run any time against the store.
type Library struct {
	st       store.Store
	src      Source
	log      *slog.Logger
	every    time.Duration
	now      func() time.Time
	onChange func()
}

// Options configure New.
type Options struct {
	Store  store.Store // required; the engine's store
	Source Source      // required
	Logger *slog.Logger
	// Every is how often Serve looks for changes; 0 = 5 s.
	Every time.Duration
	// OnChange, if set, is called after a Sync of Serve changed the index
	// (files written or torrents dropped), for live UIs. It must not block.
	OnChange func()
	// Now is the clock of continue-watching times; nil means time.Now.
	Now func() time.Time
}

// New returns a library over the store.
func New(o Options) (*Library, error) {
	if o.Store == nil || o.Source == nil {
		return nil, errors.New("library: Store and Source are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Every <= 0 {
		o.Every = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Library{st: o.Store, src: o.Source, log: o.Logger.With("component", "library"), every: o.Every,
		now: o.Now, onChange: o.OnChange}, nil
}

// Serve keeps the index up to date until ctx ends.
func (l *Library) Serve(ctx context.Context) error {
	t := time.NewTicker(l.every)
	defer t.Stop()
	for {
		s, err := l.Sync(ctx)
		if err != nil && ctx.Err() == nil {
			l.log.Warn("library sync", "err", err)
		}
		if (s.Files > 0 || s.Removed > 0) && l.onChange != nil {
			l.onChange()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

const (
	prefixFile    = "lib/f/"
	prefixAdded   = "lib/a/"
	prefixDate    = "lib/d/"
	prefixTorrent = "lib/t/"
)

func fileKey(id int64, index int) []byte {
	return fmt.Appendf(nil, "%s%016x/%08x", prefixFile, id, index)
}

func orderKey(prefix string, t time.Time, id int64, index int) []byte {
	var ts int64
	if !t.IsZero() {
		ts = t.UnixNano()
	}
	return fmt.Appendf(nil, "%s%016x%016x%08x", prefix, uint64(math.MaxInt64-ts), uint64(id), uint32(index))
}

func sortDate(it *Item) time.Time {
	if !it.Taken.IsZero() {
		return it.Taken
	}
	return it.Added
}

// mark is what lib/t/<id> holds: the signature last indexed.
type mark struct {
	Sig string `json:"sig"`
}

func signature(t engine.Torrent) string {
	// EditedAt moves on renames, file selection and moves.
	return fmt.Sprintf("%s|%v|%d|%d|%s|%d|%d", t.InfoHash, t.HasMetadata, t.Done, t.Size, t.Name, t.AddedAt.UnixNano(), t.EditedAt.UnixNano())
}

// Stats says what a Sync did.
type Stats struct {
	Torrents int // torrents looked at again
	Removed  int // torrents gone from the engine, dropped from the index
	Files    int // items written
	Probed   int // files whose headers were read
}

// Sync brings the index up to date with the engine: torrents whose
// signature changed are indexed again (only their new or newly complete
// files are probed), removed torrents are dropped.
func (l *Library) Sync(ctx context.Context) (Stats, error) {
	var s Stats
	list := l.src.List()
	live := make(map[int64]bool, len(list))
	for _, t := range list {
		live[t.ID] = true
	}
	var gone []int64
	err := l.st.Scan([]byte(prefixTorrent), func(k, _ []byte) error {
		id, err := strconv.ParseInt(string(k[len(prefixTorrent):]), 16, 64)
		if err == nil && !live[id] {
			gone = append(gone, id)
		}
		return nil
	})
	if err != nil {
		return s, fmt.Errorf("scan library: %w", err)
	}
	for _, id := range gone {
		if err := l.drop(id); err != nil {
			return s, err
		}
		if err := l.dropProgress(id); err != nil {
			return s, err
		}
		s.Removed++
	}
	for _, t := range list {
		if ctx.Err() != nil {
			return s, ctx.Err()
		}
		sig := signature(t)
		b, err := l.st.Get(torrentKey(t.ID))
		if err == nil {
			var m mark
			if json.Unmarshal(b, &m) == nil && m.Sig == sig {
				continue
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return s, fmt.Errorf("read library mark: %w", err)
		}
		if err := l.index(ctx, t.ID, &s); err != nil {
			if errors.Is(err, engine.ErrNotFound) {
				continue // removed meanwhile
			}
			return s, err
		}
	}
	return s, nil
}

func torrentKey(id int64) []byte { return fmt.Appendf(nil, "%s%016x", prefixTorrent, id) }

// batchSize keeps each store transaction well under store.MinTxnKeys.
const batchSize = 500

// index (re)indexes one torrent.
func (l *Library) index(ctx context.Context, id int64, s *Stats) error {
	t, err := l.src.Get(strconv.FormatInt(id, 10))
	if err != nil {
		return err
	}
	s.Torrents++
	type write struct {
		it  Item
		old *Item
	}
	var batch []write
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := l.st.Update(func(tx store.Txn) error {
			for _, w := range batch {
				if w.old != nil {
					if err := tx.Delete(orderKey(prefixAdded, w.old.Added, id, w.old.Index)); err != nil {
						return err
					}
					if err := tx.Delete(orderKey(prefixDate, sortDate(w.old), id, w.old.Index)); err != nil {
						return err
					}
				}
				b, err := json.Marshal(&w.it)
				if err != nil {
					return err
				}
				if err := tx.Set(fileKey(id, w.it.Index), b); err != nil {
					return err
				}
				if err := tx.Set(orderKey(prefixAdded, w.it.Added, id, w.it.Index), nil); err != nil {
					return err
				}
				if err := tx.Set(orderKey(prefixDate, sortDate(&w.it), id, w.it.Index), nil); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("write library: %w", err)
		}
		s.Files += len(batch)
		batch = batch[:0]
		return nil
	}
	for _, f := range t.Files {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if strings.HasPrefix(f.Path, ".pad/") {
			// BEP 47 padding (channels align files to pieces): zeros,
			// nothing anyone wants to see in a library.
			continue
		}
		it := Item{
			Torrent: id, Index: f.Index, Path: f.Path, Size: f.Size,
			Added: t.AddedAt, Complete: f.Done >= f.Size,
		}
		it.Name = path.Base(f.Path)
		if f.Path == "" {
			it.Path, it.Name = t.Name, t.Name
		}
		it.Kind = KindOf(it.Name)
		var old *Item
		if b, err := l.st.Get(fileKey(id, f.Index)); err == nil {
			var o Item
			if json.Unmarshal(b, &o) == nil {
				old = &o
				if o.Probed && o.Path == it.Path && o.Size == it.Size && o.Added.Equal(it.Added) {
					continue // nothing new to learn
				}
			}
		}
		if it.Complete {
			l.probe(ctx, &it)
			s.Probed++
		}
		if old != nil && *old == it {
			continue
		}
		batch = append(batch, write{it, old})
		if len(batch) >= batchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	b, _ := json.Marshal(mark{Sig: signature(t)})
	if err := l.st.Set(torrentKey(id), b); err != nil {
		return fmt.Errorf("write library mark: %w", err)
	}
	return nil
}

func (l *Library) probe(ctx context.Context, it *Item) {
	r, err := l.src.OpenFile(ctx, it.Torrent, it.Index)
	if err != nil {
		l.log.Debug("library probe: open", "torrent", it.Torrent, "index", it.Index, "err", err)
		return
	}
	defer r.Close()
	ra, ok := r.(readerAt)
	if !ok {
		return
	}
	m := Probe(it.Name, ra, it.Size)
	it.Probed = true
	it.Kind, it.Container = m.Kind, m.Container
	it.Width, it.Height, it.Orientation = m.Width, m.Height, m.Orientation
	it.Taken, it.Duration = m.Taken, m.Duration
}

// readerAt: complete files open as *os.File (engine.OpenFile reads them
// from disk), which reads at offsets without a shared position.
type readerAt interface {
	ReadAt(p []byte, off int64) (int, error)
}

// drop removes a torrent's items.
func (l *Library) drop(id int64) error {
	for {
		var items []Item
		err := l.st.Scan(fmt.Appendf(nil, "%s%016x/", prefixFile, id), func(_, v []byte) error {
			var it Item
			if json.Unmarshal(v, &it) == nil {
				items = append(items, it)
			}
			if len(items) >= batchSize {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			return fmt.Errorf("scan library: %w", err)
		}
		err = l.st.Update(func(tx store.Txn) error {
			for i := range items {
				it := &items[i]
				for _, k := range [][]byte{fileKey(id, it.Index), orderKey(prefixAdded, it.Added, id, it.Index), orderKey(prefixDate, sortDate(it), id, it.Index)} {
					if err := tx.Delete(k); err != nil {
						return err
					}
				}
			}
			if len(items) < batchSize {
				return tx.Delete(torrentKey(id))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("drop torrent %d from library: %w", id, err)
		}
		if len(items) < batchSize {
			return nil
		}
	}
}

var errStop = errors.New("library: stop scan")

// Query selects items. Zero values select everything.
type Query struct {
	Kind    Kind   // "" = every kind
	Torrent int64  // 0 = every torrent
	Text    string // substring of the name, case-insensitive
	// Sort is "added" (default: newest torrent first) or "taken" (newest
	// date taken first; files without one by their added date).
	Sort   string
	Limit  int    // 1..1000; 0 = 100
	Cursor string // Page.Next of the previous page
}

// Page is one page of results.
type Page struct {
	Items []Item `json:"items"`
	Next  string `json:"next,omitempty"` // cursor for the next page; "" at the end
}

// ErrBadQuery is a query the library cannot answer (unknown sort, kind or
// cursor).
var ErrBadQuery = errors.New("library: bad query")

// Find runs a query. It walks the chosen ordering from the cursor and
// holds at most one page of items.
func (l *Library) Find(q Query) (Page, error) {
	prefix := prefixAdded
	switch q.Sort {
	case "", "added":
	case "taken":
		prefix = prefixDate
	default:
		return Page{}, fmt.Errorf("%w: sort %q (want added or taken)", ErrBadQuery, q.Sort)
	}
	switch q.Kind {
	case "", KindVideo, KindAudio, KindPhoto, KindDocument, KindOther:
	default:
		return Page{}, fmt.Errorf("%w: kind %q", ErrBadQuery, q.Kind)
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	q.Limit = min(q.Limit, 1000)
	var after []byte
	if q.Cursor != "" {
		c, err := hex.DecodeString(q.Cursor)
		if err != nil || len(c) != 20 {
			return Page{}, fmt.Errorf("%w: cursor", ErrBadQuery)
		}
		after = []byte(prefix + strings.ToLower(q.Cursor))
	}
	text := strings.ToLower(q.Text)
	page := Page{Items: []Item{}}
	var lastKey []byte
	err := l.st.View(func(r store.Reader) error {
		return r.Scan([]byte(prefix), func(k, _ []byte) error {
			if after != nil && string(k) <= string(after) {
				return nil
			}
			rest := k[len(prefix):]
			if len(rest) != 40 {
				return nil
			}
			var raw [20]byte
			if _, err := hex.Decode(raw[:], rest); err != nil {
				return nil
			}
			id := int64(binary.BigEndian.Uint64(raw[8:16]))
			if q.Torrent != 0 && id != q.Torrent {
				return nil
			}
			index := int(binary.BigEndian.Uint32(raw[16:20]))
			b, err := r.Get(fileKey(id, index))
			if err != nil {
				return nil // index entry without item: skip
			}
			var it Item
			if json.Unmarshal(b, &it) != nil {
				return nil
			}
			if q.Kind != "" && it.Kind != q.Kind || text != "" && !strings.Contains(strings.ToLower(it.Name), text) {
				return nil
			}
			if len(page.Items) == q.Limit {
				page.Next = string(lastKey) // there is more
				return errStop
			}
			page.Items = append(page.Items, it)
			lastKey = append(lastKey[:0], rest...)
			return nil
		})
	})
	if err != nil && !errors.Is(err, errStop) {
		return Page{}, fmt.Errorf("query library: %w", err)
	}
	return page, nil
}
