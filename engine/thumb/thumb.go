// Package thumb makes JPEG thumbnails of photos (JPEG, PNG, GIF, WebP) in
// two sizes — Small for grids and Large for a photo on a TV — and keeps
// them in a disk cache with a size cap. It is built for devices with
// little memory: the image size is read before decoding and images above
// a pixel cap are refused, a semaphore bounds how many decodes run at
// once (both sizes share it), and the scaling is a box filter that
// allocates only the output, already oriented.
package thumb

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // decoders
	"image/jpeg"
	_ "image/png"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	// WebP (lossy VP8 and lossless VP8L, with alpha): the standard library
	// has no decoder; x/image is the Go team's.
	_ "golang.org/x/image/webp"
)

var (
	// ErrTooLarge means the image has more pixels than Options.MaxPixels.
	ErrTooLarge = errors.New("thumb: image too large")
	// ErrUnsupported means the file is not an image this package decodes.
	ErrUnsupported = errors.New("thumb: not a supported image")
	// ErrNoLarge means large thumbnails are off (Options.LargeSize < 0).
	ErrNoLarge = errors.New("thumb: large thumbnails are off")
)

// Size is a thumbnail size.
type Size int

const (
	// Small is Options.Size on the long side (320 px): grids, lists.
	Small Size = iota
	// Large is Options.LargeSize on the long side (1280 px): a photo
	// full screen on a TV without sending it the 12 MP original. Never
	// made from a JPEG's embedded EXIF thumbnail (too small).
	Large
)

// String is the size's name in URLs: "small" or "large".
func (s Size) String() string {
	if s == Large {
		return "large"
	}
	return "small"
}

// Options configure New. Zero fields take the defaults below.
type Options struct {
	Dir         string // cache folder (DATA_DIR/cache/thumbs); required
	MaxBytes    int64  // cache size cap; default 64 MiB
	Concurrency int    // decodes at once; default 1
	MaxPixels   int    // refuse larger images; default 40 MP
	Size        int    // longest side of a Small thumbnail; default 320
	// LargeSize is the longest side of a Large thumbnail; default 1280.
	// Negative: no large thumbnails (ThumbSize answers ErrNoLarge), for
	// devices where decoding every photo of a slideshow costs too much.
	// A large one adds its output (1280x960 RGBA: 4.7 MiB) to the decode
	// that a small one needs anyway.
	LargeSize int
	Quality   int // JPEG quality; default 80
	// Embedded uses a JPEG's own EXIF thumbnail (about 160 px, made by the
	// camera) when it has one: no full decode, for slow devices. The
	// result is smaller and softer than a thumbnail made from the photo.
	Embedded bool
	Logger   *slog.Logger
}

// Maker makes and caches thumbnails. Safe for concurrent use.
type Maker struct {
	o   Options
	sem chan struct{}
	log *slog.Logger

	mu    sync.Mutex
	files map[string]cached // cache file name → entry
	total int64
}

type cached struct {
	size int64
	used time.Time
}

// New opens (creates) the cache folder and indexes what it holds.
func New(o Options) (*Maker, error) {
	if o.Dir == "" {
		return nil, errors.New("thumb: no cache folder")
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 64 << 20
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 1
	}
	if o.MaxPixels <= 0 {
		o.MaxPixels = 40_000_000
	}
	if o.Size <= 0 {
		o.Size = 320
	}
	if o.LargeSize == 0 {
		o.LargeSize = 1280
	}
	if o.Quality <= 0 {
		o.Quality = 80
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create thumbnail cache %s: %w", o.Dir, err)
	}
	m := &Maker{o: o, sem: make(chan struct{}, o.Concurrency), log: o.Logger.With("component", "thumb"), files: map[string]cached{}}
	ents, err := os.ReadDir(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("read thumbnail cache %s: %w", o.Dir, err)
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".jpg") {
			if strings.HasPrefix(e.Name(), ".tmp") {
				os.Remove(filepath.Join(o.Dir, e.Name()))
			}
			continue
		}
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			m.files[e.Name()] = cached{size: fi.Size(), used: fi.ModTime()}
			m.total += fi.Size()
		}
	}
	m.evict()
	return m, nil
}

// CacheBytes is the cache's current size.
func (m *Maker) CacheBytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.total
}

// Thumb returns a Small JPEG thumbnail of the image at path, made now or
// read from the cache.
func (m *Maker) Thumb(ctx context.Context, path string) ([]byte, error) {
	return m.ThumbSize(ctx, path, Small)
}

// ThumbSize returns a JPEG thumbnail of the image at path in size s,
// made now or read from the cache. The cache key is the path, size and
// modification time of the file and the thumbnail size, so a changed
// file gets a new thumbnail and each size has its own.
func (m *Maker) ThumbSize(ctx context.Context, path string, s Size) ([]byte, error) {
	px, key := m.o.Size, ""
	switch s {
	case Small:
	case Large:
		if m.o.LargeSize < 0 {
			return nil, ErrNoLarge
		}
		px, key = m.o.LargeSize, "\x00large"
	default:
		return nil, fmt.Errorf("thumbnail size %d: %w", s, ErrUnsupported)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("thumbnail of %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("thumbnail of %s: %w", path, ErrUnsupported)
	}
	// Small keeps the key it had before sizes existed: caches stay valid.
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%d\x00%d%s", path, fi.Size(), fi.ModTime().UnixNano(), px, key))
	name := hex.EncodeToString(h[:16]) + ".jpg"
	out := filepath.Join(m.o.Dir, name)
	if b, ok := m.cached(name); ok {
		return b, nil
	}
	select {
	case m.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-m.sem }()
	if b, ok := m.cached(name); ok { // made while we waited
		return b, nil
	}
	img, err := m.decode(path, px, s == Small && m.o.Embedded)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: m.o.Quality}); err != nil {
		return nil, fmt.Errorf("encode thumbnail of %s: %w", path, err)
	}
	if err := m.store(name, out, buf.Bytes()); err != nil {
		// The cache is an optimisation: serve the thumbnail anyway.
		m.log.Warn("thumbnail cache write", "err", err)
	}
	return buf.Bytes(), nil
}

// store writes a thumbnail into the cache (temp file, rename) and evicts.
func (m *Maker) store(name, out string, b []byte) error {
	tmp, err := os.CreateTemp(m.o.Dir, ".tmp")
	if err != nil {
		return fmt.Errorf("write thumbnail: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), out)
	}
	if err != nil {
		return fmt.Errorf("write thumbnail: %w", err)
	}
	m.mu.Lock()
	if old, ok := m.files[name]; ok {
		m.total -= old.size
	}
	m.files[name] = cached{size: int64(len(b)), used: time.Now()}
	m.total += int64(len(b))
	m.mu.Unlock()
	m.evict()
	return nil
}

// cached reads a cached thumbnail and marks it used.
func (m *Maker) cached(name string) ([]byte, bool) {
	if !m.touch(name) {
		return nil, false
	}
	b, err := os.ReadFile(filepath.Join(m.o.Dir, name))
	if err != nil {
		return nil, false
	}
	return b, true
}

// touch marks a cached thumbnail as used; false if it is not cached.
func (m *Maker) touch(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.files[name]
	if !ok {
		return false
	}
	if _, err := os.Stat(filepath.Join(m.o.Dir, name)); err != nil {
		m.total -= c.size
		delete(m.files, name)
		return false
	}
	c.used = time.Now()
	m.files[name] = c
	return true
}

// evict removes the least recently used thumbnails while the cache is
// over its cap.
func (m *Maker) evict() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.total <= m.o.MaxBytes {
		return
	}
	names := make([]string, 0, len(m.files))
	for n := range m.files {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return m.files[a].used.Compare(m.files[b].used) })
	for _, n := range names {
		if m.total <= m.o.MaxBytes {
			break
		}
		if err := os.Remove(filepath.Join(m.o.Dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			m.log.Warn("thumbnail eviction", "err", err)
			continue
		}
		m.total -= m.files[n].size
		delete(m.files, n)
	}
}

// decode reads, checks, scales to px on the long side and orients one
// image; embedded takes a JPEG's EXIF thumbnail when it has one.
func (m *Maker) decode(path string, px int, embedded bool) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("thumbnail of %s: %w", path, err)
	}
	defer f.Close()
	cfg, format, err := image.DecodeConfig(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("thumbnail of %s: %w", path, ErrUnsupported)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > int64(m.o.MaxPixels) {
		return nil, fmt.Errorf("thumbnail of %s (%dx%d): %w", path, cfg.Width, cfg.Height, ErrTooLarge)
	}
	orient := 1
	if format == "webp" {
		// WebP keeps EXIF in a RIFF chunk, usually after the image data
		// (skipped by seeking); the decoder itself ignores it.
		if _, err := f.Seek(0, io.SeekStart); err == nil {
			orient = webpOrientation(f)
		}
	}
	if format == "jpeg" {
		if _, err := f.Seek(0, io.SeekStart); err == nil {
			ex := readExif(bufio.NewReader(io.LimitReader(f, 256<<10)))
			orient = ex.orient
			if embedded && ex.thumb != nil {
				if small, err := jpeg.Decode(bytes.NewReader(ex.thumb)); err == nil && small.Bounds().Dx() > 0 && small.Bounds().Dy() > 0 {
					return scale(small, px, orient), nil
				}
			}
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("thumbnail of %s: %w", path, err)
	}
	src, _, err := image.Decode(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("thumbnail of %s: %w: %v", path, ErrUnsupported, err)
	}
	return scale(src, px, orient), nil
}

// scale shrinks src so that its longest side is at most max, averaging
// every source pixel into its box (a box filter); smaller images are
// only copied. It writes each output pixel where the EXIF orientation o
// (1-8) puts it, so the only image it allocates is the output: a second
// buffer for rotating would double a large thumbnail's memory.
func scale(src image.Image, max int, o int) *image.RGBA {
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	dw, dh := sw, sh
	if sw > max || sh > max {
		if sw >= sh {
			dw, dh = max, int(int64(sh)*int64(max)/int64(sw))
		} else {
			dw, dh = int(int64(sw)*int64(max)/int64(sh)), max
		}
	}
	dw, dh = maxInt(dw, 1), maxInt(dh, 1)
	if o < 1 || o > 8 {
		o = 1
	}
	ow, oh := dw, dh
	if o >= 5 {
		ow, oh = dh, dw
	}
	dst := image.NewRGBA(image.Rect(0, 0, ow, oh))
	// Sums per output pixel of one output row, filled source row by row.
	sums := make([][4]uint64, dw)
	counts := make([]uint64, dw)
	xmap := make([]int, sw)
	for x := range sw {
		xmap[x] = x * dw / sw
	}
	ycc, _ := src.(*image.YCbCr)
	dy := 0
	for y := range sh {
		if ycc != nil {
			for x := range sw {
				yi := ycc.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := ycc.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bb := color.YCbCrToRGB(ycc.Y[yi], ycc.Cb[ci], ycc.Cr[ci])
				s := &sums[xmap[x]]
				s[0] += uint64(r)
				s[1] += uint64(g)
				s[2] += uint64(bb)
				s[3] += 255
				counts[xmap[x]]++
			}
		} else {
			for x := range sw {
				r, g, bb, a := src.At(b.Min.X+x, b.Min.Y+y).RGBA()
				s := &sums[xmap[x]]
				s[0] += uint64(r >> 8)
				s[1] += uint64(g >> 8)
				s[2] += uint64(bb >> 8)
				s[3] += uint64(a >> 8)
				counts[xmap[x]]++
			}
		}
		if y+1 == sh || (y+1)*dh/sh != dy {
			for x := range dw {
				n := counts[x]
				if n == 0 {
					continue
				}
				s := sums[x]
				// Composite onto white: transparent parts of PNG/GIF/WebP
				// would be black in a JPEG.
				a := s[3] / n
				nx, ny := orient(o, x, dy, dw, dh)
				off := dst.PixOffset(nx, ny)
				for c := range 3 {
					v := s[c]/n + (255 - a)
					dst.Pix[off+c] = uint8(min(v, 255))
				}
				dst.Pix[off+3] = 255
				sums[x] = [4]uint64{}
				counts[x] = 0
			}
			dy++
		}
	}
	return dst
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// orient maps pixel (x, y) of a w×h image as stored to where EXIF
// orientation o (1-8) shows it.
func orient(o, x, y, w, h int) (int, int) {
	switch o {
	case 2:
		return w - 1 - x, y
	case 3:
		return w - 1 - x, h - 1 - y
	case 4:
		return x, h - 1 - y
	case 5:
		return y, x
	case 6:
		return h - 1 - y, x
	case 7:
		return h - 1 - y, w - 1 - x
	case 8:
		return y, w - 1 - x
	}
	return x, y
}
