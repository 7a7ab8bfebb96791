package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
)

// ErrNotRunning means a file cannot be streamed because it is not complete
// and its torrent is stopped or queued: only a running torrent fetches
// pieces. The API maps it to 409.
var ErrNotRunning = errors.New("engine: torrent is not running; start it to stream an incomplete file")

// ErrNoFile means a torrent has no file with the given index (or its
// metadata is not known yet).
var ErrNoFile = errors.New("engine: no such file")

// FileReader reads one file of a torrent. Not safe for concurrent use; open
// one per consumer (an HTTP request, a library probe).
type FileReader interface {
	io.ReadSeekCloser
	// Size is the file's length in bytes.
	Size() int64
	// Name is the file's base name.
	Name() string
	// Path is the file's slash-separated path as remote apps show it:
	// the torrent's top folder, then File.Path (the name alone for a
	// single-file torrent).
	Path() string
}

// OpenFile opens file index of torrent id for reading while it downloads.
//
// A complete file (every piece verified) is read straight from disk, for
// any torrent state. Otherwise the torrent must be running (ErrNotRunning
// if not): the file is read through the library's Reader, whose position
// and read-ahead window (torrent.read_ahead_kib) get the highest piece
// priorities (now, then read-ahead) above any file priority, so the pieces
// a player asks for are fetched first, even from an unwanted file. Reads
// block until the data arrive, ctx ends (the HTTP request goes away) or the
// reader is closed. Reads are "responsive": data are returned once written,
// before the piece is hashed, as players want them; a bad piece is fetched
// again after the hash check fails.
//
// Reads are not held back by the torrent's upload limit (that limit is for
// peers; see third_party/README.md).
func (e *Engine) OpenFile(ctx context.Context, id int64, index int) (FileReader, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	tr, fi, err := e.fileLocked(id, index)
	if err != nil {
		return nil, err
	}
	rel := tr.relPath(index, fi)
	p := joinTorrentPath(tr.root(), rel)
	base := path.Base(p)
	done := e.fileDone(tr)
	if index < len(done) && done[index] >= fi.Length {
		name := filepath.Join(tr.dataDir(), filepath.FromSlash(p))
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("open file %d of torrent %d: %w", index, id, err)
		}
		return &diskFile{File: f, size: fi.Length, name: base, path: p}, nil
	}
	if tr.t == nil || tr.t.Info() == nil {
		return nil, ErrNotRunning
	}
	tf := tr.t.Files()
	if index >= len(tf) {
		return nil, ErrNoFile
	}
	r := tf[index].NewReader()
	r.SetContext(ctx)
	r.SetResponsive()
	ra := int64(e.cfg.Torrent.ReadAheadKiB) << 10
	if ra <= 0 {
		ra = 1 << 20
	}
	r.SetReadahead(ra)
	return &torrentFile{Reader: r, size: fi.Length, name: base, path: p}, nil
}

type torrentFile struct {
	torrent.Reader
	size       int64
	name, path string
}

func (f *torrentFile) Size() int64  { return f.size }
func (f *torrentFile) Name() string { return f.name }
func (f *torrentFile) Path() string { return f.path }

type diskFile struct {
	*os.File
	size       int64
	name, path string
}

func (f *diskFile) Size() int64  { return f.size }
func (f *diskFile) Name() string { return f.name }
func (f *diskFile) Path() string { return f.path }

// fileLocked returns torrent id and its file index, to be read, with e.mu
// held: ErrNoFile before the metadata is known or for an index out of
// range, errMoving while the torrent's data are being moved.
func (e *Engine) fileLocked(id int64, index int) (*tor, *metainfo.FileInfo, error) {
	tr, err := e.lookup(id)
	if err != nil {
		return nil, nil, err
	}
	if tr.info == nil {
		return nil, nil, ErrNoFile
	}
	files := tr.info.UpvertedFiles()
	if index < 0 || index >= len(files) {
		return nil, nil, ErrNoFile
	}
	if tr.moving {
		return nil, nil, errMoving(id)
	}
	return tr, &files[index], nil
}
