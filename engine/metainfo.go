package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
	"golang.org/x/time/rate"
)

// This file gives what a BEP 19 web seed needs of the engine: a torrent's
// .torrent file (MetaInfo), its file layout as the info dictionary names
// it (Layout), and reads of verified data only (OpenSeedFile). It also
// keeps the web seeds (url-list) a .torrent brings: they are saved with
// the torrent and given to the library when it runs.

// ErrNotVerified means a web seed was asked for bytes whose pieces are not
// all verified yet. A web seed answers 503 with Retry-After.
var ErrNotVerified = errors.New("engine: data not verified yet")

// MaxWebSeeds bounds the url-list kept per torrent.
const MaxWebSeeds = 16

// maxWebSeedURL bounds one web seed URL.
const maxWebSeedURL = 2048

// cleanWebSeeds keeps the usable web seed URLs of a url-list: absolute
// http or https URLs with a host and no user info, without duplicates, at
// most MaxWebSeeds. Anything else is dropped silently, as clients do with
// trackers they cannot use.
func cleanWebSeeds(list []string) []string {
	var out []string
	for _, s := range list {
		if len(out) >= MaxWebSeeds {
			break
		}
		if len(s) > maxWebSeedURL || slices.Contains(out, s) {
			continue
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "" {
			continue
		}
		out = append(out, s)
	}
	return out
}

// mergeWebSeeds adds web seeds a duplicate .torrent brings to a known
// torrent, saves them, and gives them to the library if it is running.
// Called with e.mu held.
func (e *Engine) mergeWebSeeds(tr *tor, urls []string) {
	merged := cleanWebSeeds(append(slices.Clone(tr.rec.WebSeeds), urls...))
	if len(merged) == len(tr.rec.WebSeeds) {
		return
	}
	tr.rec.WebSeeds = merged
	e.persist(tr)
	e.applyWebSeeds(tr)
}

// applyWebSeeds gives the torrent's web seeds to the library. Called with
// e.mu held.
func (e *Engine) applyWebSeeds(tr *tor) {
	if tr.t != nil && len(tr.rec.WebSeeds) > 0 {
		tr.t.AddWebSeeds(tr.rec.WebSeeds)
	}
}

// MetaInfo returns a .torrent file of torrent id: its info dictionary
// byte for byte as stored (so the infohash is the same), its trackers as
// announce and announce-list (one tier each), and as url-list (BEP 19)
// the torrent's own web seeds followed by webSeeds. It returns ErrNoFile
// while a magnet's metadata is not known.
func (e *Engine) MetaInfo(id int64, webSeeds []string) ([]byte, error) {
	e.mu.Lock()
	tr, err := e.lookup(id)
	var (
		ih       string
		info     []byte
		trackers []string
		seeds    []string
	)
	if err == nil && tr.info == nil {
		err = ErrNoFile
	}
	if err == nil {
		ih, info = tr.rec.InfoHash, tr.unsaved
		trackers = slices.Clone(tr.rec.Trackers)
		seeds = cleanWebSeeds(append(slices.Clone(tr.rec.WebSeeds), webSeeds...))
	}
	e.mu.Unlock()
	if err == nil && info == nil {
		// Read outside the engine's lock: the store may be on slow flash.
		info, err = e.savedInfo(ih)
	}
	if err != nil {
		return nil, err
	}
	mi := metainfo.MetaInfo{InfoBytes: info, UrlList: seeds}
	if len(trackers) > 0 {
		mi.Announce = trackers[0]
		for _, t := range trackers {
			mi.AnnounceList = append(mi.AnnounceList, []string{t})
		}
	}
	b, err := bencode.Marshal(mi)
	if err != nil {
		return nil, fmt.Errorf("encode torrent %d: %w", id, err)
	}
	return b, nil
}

// InfoFile is one file of a torrent as its info dictionary names it. Web
// seed URLs use these names, not the names on disk after renames.
type InfoFile struct {
	Index  int      // as in Torrent.Files
	Path   []string // components below the torrent's name; nil for a single-file torrent
	Length int64
	// Padding is a BEP 47 padding file (attr "p"): zeros, never on disk
	// as far as a web seed is concerned.
	Padding bool
}

// Layout is a torrent's file layout from its info dictionary.
type Layout struct {
	Name        string // the info's name (name.utf-8 when present), as BEP 19 clients use it
	SingleFile  bool   // one file, named Name; no folder
	PieceLength int64
	Files       []InfoFile
}

// Layout returns torrent id's file layout, or ErrNoFile while a magnet's
// metadata is not known.
func (e *Engine) Layout(id int64) (Layout, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	tr, err := e.lookup(id)
	if err != nil {
		return Layout{}, err
	}
	if tr.info == nil {
		return Layout{}, ErrNoFile
	}
	l := Layout{Name: tr.info.BestName(), SingleFile: !tr.info.IsDir(), PieceLength: tr.info.PieceLength}
	for i, f := range tr.info.UpvertedFiles() {
		fi := InfoFile{Index: i, Length: f.Length, Padding: strings.Contains(f.Attr, "p")}
		if !l.SingleFile {
			fi.Path = slices.Clone(f.BestPath())
		}
		l.Files = append(l.Files, fi)
	}
	return l, nil
}

// SeedFile reads the verified data of one file of a torrent, for a web
// seed. It knows which pieces were verified when it was opened; reads of
// anything else fail with ErrNotVerified. Reads count against the
// torrent's and the global upload limits, as uploads to peers do. Not
// safe for concurrent use.
type SeedFile struct {
	f        *os.File // nil for a padding or empty file
	pad      bool
	size     int64
	offset   int64 // the file's offset in the torrent
	pieceLen int64
	pieces   []bool
	ctx      context.Context
	lims     []*rate.Limiter
}

// OpenSeedFile opens file index of torrent id for a web seed. The file is
// read from disk, never fetched: a web seed serves what the device has.
// ctx bounds the reads' waits for the upload limits.
func (e *Engine) OpenSeedFile(ctx context.Context, id int64, index int) (*SeedFile, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	tr, fi, err := e.fileLocked(id, index)
	if err != nil {
		return nil, err
	}
	sf := &SeedFile{size: fi.Length, offset: fi.TorrentOffset, pieceLen: tr.info.PieceLength, ctx: ctx, lims: []*rate.Limiter{tr.lim.up, e.upLim}}
	if strings.Contains(fi.Attr, "p") {
		sf.pad = true
		return sf, nil
	}
	sf.pieces, err = e.verifiedPieces(tr)
	if err != nil {
		return nil, err
	}
	if sf.size == 0 {
		return sf, nil // nothing to read; it may not even exist on disk
	}
	if !sf.anyVerified() {
		return nil, ErrNotVerified
	}
	root, err := os.OpenRoot(tr.dataDir())
	if err != nil {
		return nil, fmt.Errorf("open data folder of torrent %d: %w", id, err)
	}
	defer root.Close()
	f, err := root.Open(filepath.FromSlash(joinTorrentPath(tr.root(), tr.relPath(index, fi))))
	if err != nil {
		return nil, fmt.Errorf("open file %d of torrent %d: %w", index, id, err)
	}
	sf.f = f
	return sf, nil
}

// verifiedPieces is the torrent's verified-piece bitmap, from the library
// while it runs, else from the saved completion. Called with e.mu held.
func (e *Engine) verifiedPieces(tr *tor) ([]bool, error) {
	n := tr.numPieces
	if tr.t != nil && tr.t.Info() != nil {
		bm := make([]bool, n)
		i := 0
		for _, run := range tr.t.PieceStateRuns() {
			if run.Complete {
				for j := i; j < i+run.Length && j < n; j++ {
					bm[j] = true
				}
			}
			i += run.Length
		}
		return bm, nil
	}
	return e.pc.Bitmap(metainfo.NewHashFromHex(tr.rec.InfoHash), n)
}

// Size is the file's length.
func (f *SeedFile) Size() int64 { return f.size }

// Padding reports a BEP 47 padding file (zeros).
func (f *SeedFile) Padding() bool { return f.pad }

func (f *SeedFile) anyVerified() bool {
	first, last := f.offset/f.pieceLen, (f.offset+f.size-1)/f.pieceLen
	for p := first; p <= last && p < int64(len(f.pieces)); p++ {
		if f.pieces[p] {
			return true
		}
	}
	return false
}

// Verified reports whether every piece holding bytes [off, off+n) of the
// file was verified when the file was opened.
func (f *SeedFile) Verified(off, n int64) bool {
	if off < 0 || off+n > f.size {
		return false
	}
	if f.pad || n <= 0 {
		return true
	}
	first, last := (f.offset+off)/f.pieceLen, (f.offset+off+n-1)/f.pieceLen
	if last >= int64(len(f.pieces)) {
		return false
	}
	for p := first; p <= last; p++ {
		if !f.pieces[p] {
			return false
		}
	}
	return true
}

// ReadAt reads verified bytes (zeros for a padding file); past the end it
// returns io.EOF as files do.
func (f *SeedFile) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read at %d: negative offset", off)
	}
	if off >= f.size {
		return 0, io.EOF
	}
	n := int64(len(b))
	if off+n > f.size {
		n = max(0, f.size-off)
	}
	if !f.Verified(off, n) {
		return 0, ErrNotVerified
	}
	for _, lim := range f.lims {
		if err := wait(f.ctx, lim, int(n)); err != nil {
			return 0, err
		}
	}
	if f.f == nil {
		clear(b[:n])
		if n < int64(len(b)) {
			return int(n), io.EOF
		}
		return int(n), nil
	}
	m, err := f.f.ReadAt(b[:n], off)
	if err == nil && m < len(b) {
		err = io.EOF
	}
	return m, err
}

// Close closes the file.
func (f *SeedFile) Close() error {
	if f.f == nil {
		return nil
	}
	return f.f.Close()
}
