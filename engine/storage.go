package engine

import (
	"context"
	"io"
	"math"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
	"golang.org/x/time/rate"
)

// limits holds a torrent's own rate limiters. The engine library only has
// client-wide limiters, so per-torrent limits are applied where the data
// passes through storage: chunk writes (download) and reads that serve
// peers (upload). A write that waits blocks that peer connection's reader,
// so TCP flow control slows the peer down. Hashing reads the piece through
// WriteTo and is not throttled.
type limits struct {
	down *rate.Limiter
	up   *rate.Limiter
}

const limiterBurst = 256 << 10

func newLimits() *limits {
	return &limits{
		down: rate.NewLimiter(rate.Inf, limiterBurst),
		up:   rate.NewLimiter(rate.Inf, limiterBurst),
	}
}

// kbpsLimit turns a KB/s setting (0 = unlimited) into a limiter rate.
func kbpsLimit(kbps int) rate.Limit {
	if kbps <= 0 {
		return rate.Inf
	}
	return rate.Limit(float64(kbps) * 1000)
}

func (l *limits) set(downKBps, upKBps int) {
	l.down.SetLimit(kbpsLimit(downKBps))
	l.up.SetLimit(kbpsLimit(upKBps))
}

// wait takes n bytes from lim in burst-sized steps.
func wait(ctx context.Context, lim *rate.Limiter, n int) error {
	if lim.Limit() == rate.Inf {
		return nil
	}
	for n > 0 {
		step := min(n, limiterBurst)
		if err := lim.WaitN(ctx, step); err != nil {
			return err
		}
		n -= step
	}
	return nil
}

// torrentStorage is the storage of one torrent: anacrolix file storage in
// the torrent's folder, with Hearth's piece completion, no part files
// (which would mark finished-looking files complete without hashing) and
// the torrent's rate limits. It checks the info dictionary before any file
// is created, so metadata fetched from a hostile peer cannot name files
// outside the folder.
type torrentStorage struct {
	inner    storage.ClientImplCloser
	lim      *limits
	ctx      context.Context
	validate func(*metainfo.Info) error
	guard    *dirGuard // nil: not on the store's file system (diskfull.go)
}

// nopCloseCompletion keeps per-torrent storages from closing the shared
// piece completion.
type nopCloseCompletion struct{ storage.PieceCompletion }

func (nopCloseCompletion) Close() error { return nil }

func newTorrentStorage(ctx context.Context, dir string, pc storage.PieceCompletion, lim *limits, validate func(*metainfo.Info) error) *torrentStorage {
	inner := storage.NewFileOpts(storage.NewFileClientOpts{
		ClientBaseDir:   dir,
		PieceCompletion: nopCloseCompletion{pc},
		UsePartFiles:    g.Some(false),
	})
	return &torrentStorage{inner: inner, lim: lim, ctx: ctx, validate: validate}
}

func (s *torrentStorage) OpenTorrent(ctx context.Context, info *metainfo.Info, ih metainfo.Hash) (storage.TorrentImpl, error) {
	if s.validate != nil {
		if err := s.validate(info); err != nil {
			return storage.TorrentImpl{}, err
		}
	}
	t, err := s.inner.OpenTorrent(ctx, info, ih)
	if err != nil {
		return t, err
	}
	innerPiece, innerPieceWithHash, innerReader := t.Piece, t.PieceWithHash, t.NewReader
	if t.Piece != nil {
		piece := t.Piece
		t.Piece = func(p metainfo.Piece) storage.PieceImpl { return s.wrapPiece(piece(p)) }
	}
	if t.PieceWithHash != nil {
		piece := t.PieceWithHash
		t.PieceWithHash = func(p metainfo.Piece, h g.Option[[]byte]) storage.PieceImpl {
			return s.wrapPiece(piece(p, h))
		}
	}
	if t.NewReader != nil {
		newReader := t.NewReader
		t.NewReader = func() storage.TorrentReader {
			return limitedReader{TorrentReader: newReader(), s: s}
		}
	}
	// Streaming readers (Engine.OpenFile) read through NewLocalReader (a
	// patch in third_party/anacrolix-torrent), from the unwrapped pieces:
	// the upload limit is for peers, never for local playback.
	switch {
	case innerReader != nil:
		t.NewLocalReader = innerReader
	case innerPiece != nil || innerPieceWithHash != nil:
		t.NewLocalReader = func() storage.TorrentReader {
			return localReader{info: info, piece: innerPiece, pieceWithHash: innerPieceWithHash}
		}
	}
	return t, nil
}

// localReader reads the torrent's data from its file storage without the
// per-torrent rate limits. It reads at most up to the end of the piece at
// off: the library waits for pending writes to that piece only, and takes
// short reads.
type localReader struct {
	info          *metainfo.Info
	piece         func(metainfo.Piece) storage.PieceImpl
	pieceWithHash func(metainfo.Piece, g.Option[[]byte]) storage.PieceImpl
}

func (r localReader) ReadAt(b []byte, off int64) (int, error) {
	if off < 0 || r.info.PieceLength <= 0 || off >= r.info.TotalLength() {
		return 0, io.EOF
	}
	p := r.info.Piece(int(off / r.info.PieceLength))
	var impl storage.PieceImpl
	if r.pieceWithHash != nil {
		impl = r.pieceWithHash(p, g.None[[]byte]())
	} else {
		impl = r.piece(p)
	}
	in := off - p.Offset()
	if rest := p.Length() - in; int64(len(b)) > rest {
		b = b[:rest]
	}
	return impl.ReadAt(b, in)
}

func (localReader) Close() error { return nil }

func (s *torrentStorage) Close() error { return s.inner.Close() }

// fullPiece is what anacrolix's file storage pieces implement; wrappers
// must keep WriteTo (used for hashing) and Flush (fsync before marking a
// piece complete).
type fullPiece interface {
	storage.PieceImpl
	io.WriterTo
	storage.Flusher
}

type limitedPiece struct {
	fullPiece
	s *torrentStorage
}

func (s *torrentStorage) wrapPiece(p storage.PieceImpl) storage.PieceImpl {
	fp, ok := p.(fullPiece)
	if !ok {
		return p // unknown storage: no per-torrent download limit rather than losing features
	}
	return limitedPiece{fullPiece: fp, s: s}
}

func (p limitedPiece) WriteAt(b []byte, off int64) (int, error) {
	if err := wait(p.s.ctx, p.s.lim.down, len(b)); err != nil {
		return 0, err
	}
	if err := p.s.guard.check(len(b)); err != nil {
		return 0, err
	}
	return p.fullPiece.WriteAt(b, off)
}

// ReadAt serves peers: the file storage has no torrent-wide reader, so the
// library reads peer requests piece by piece through here.
func (p limitedPiece) ReadAt(b []byte, off int64) (int, error) {
	if err := wait(p.s.ctx, p.s.lim.up, len(b)); err != nil {
		return 0, err
	}
	return p.fullPiece.ReadAt(b, off)
}

type limitedReader struct {
	storage.TorrentReader
	s *torrentStorage
}

func (r limitedReader) ReadAt(b []byte, off int64) (int, error) {
	if err := wait(r.s.ctx, r.s.lim.up, len(b)); err != nil {
		return 0, err
	}
	return r.TorrentReader.ReadAt(b, off)
}

// rateMeter turns byte counters sampled at ticks into a smoothed rate.
// Callers hold Engine.mu.
type rateMeter struct {
	last int64
	rate float64
	init bool
}

// sample records the counter value after dt seconds and returns bytes/s.
func (m *rateMeter) sample(total int64, dt float64) int64 {
	if !m.init || dt <= 0 || total < m.last {
		m.last, m.init, m.rate = total, true, 0
		return 0
	}
	inst := float64(total-m.last) / dt
	m.last = total
	// Exponential smoothing over a few seconds, like the rates people see in other clients.
	m.rate = 0.5*m.rate + 0.5*inst
	if m.rate < 1 {
		m.rate = 0
	}
	return int64(math.Round(m.rate))
}

func (m *rateMeter) get() int64 {
	return int64(math.Round(m.rate))
}
