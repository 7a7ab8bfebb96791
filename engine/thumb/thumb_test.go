package thumb

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// withOrientation inserts an APP1 Exif segment holding orientation o
// after the SOI marker of a JPEG.
func withOrientation(t *testing.T, jpg []byte, o uint16, bo binary.ByteOrder) []byte {
	t.Helper()
	var tiff bytes.Buffer
	if bo == binary.LittleEndian {
		tiff.WriteString("II")
	} else {
		tiff.WriteString("MM")
	}
	binary.Write(&tiff, bo, uint16(42))
	binary.Write(&tiff, bo, uint32(8))
	binary.Write(&tiff, bo, uint16(1))           // one entry
	binary.Write(&tiff, bo, []uint16{0x0112, 3}) // tag, SHORT
	binary.Write(&tiff, bo, uint32(1))           // count
	binary.Write(&tiff, bo, []uint16{o, 0})      // value
	binary.Write(&tiff, bo, uint32(0))           // next IFD
	seg := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	out := []byte{0xFF, 0xD8, 0xFF, 0xE1}
	out = binary.BigEndian.AppendUint16(out, uint16(len(seg)+2))
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func writeJPEG(t *testing.T, path string, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	if path != "" {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func newMaker(t *testing.T, o Options) *Maker {
	t.Helper()
	if o.Dir == "" {
		o.Dir = filepath.Join(t.TempDir(), "thumbs")
	}
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func thumbSize(t *testing.T, jpg []byte) (int, int) {
	t.Helper()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(jpg))
	if err != nil || format != "jpeg" {
		t.Fatalf("thumbnail: %v %s", err, format)
	}
	return cfg.Width, cfg.Height
}

func TestOrientation(t *testing.T) {
	dir := t.TempDir()
	m := newMaker(t, Options{})
	plain := writeJPEG(t, "", 640, 480)
	for _, tc := range []struct {
		o      uint16
		bo     binary.ByteOrder
		w, h   int
		parsed int
	}{
		{1, binary.BigEndian, 320, 240, 1},
		{3, binary.LittleEndian, 320, 240, 3},
		{6, binary.BigEndian, 240, 320, 6},
		{8, binary.LittleEndian, 240, 320, 8},
		{9, binary.BigEndian, 320, 240, 1}, // out of range: as stored
	} {
		data := withOrientation(t, plain, tc.o, tc.bo)
		if got := Orientation(bytes.NewReader(data)); got != tc.parsed {
			t.Errorf("Orientation(%d) = %d, want %d", tc.o, got, tc.parsed)
		}
		p := filepath.Join(dir, "o"+string(rune('0'+tc.o))+".jpg")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := m.Thumb(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if w, h := thumbSize(t, out); w != tc.w || h != tc.h {
			t.Errorf("thumbnail of orientation %d = %dx%d, want %dx%d", tc.o, w, h, tc.w, tc.h)
		}
	}
	if got := Orientation(bytes.NewReader([]byte("not a jpeg"))); got != 1 {
		t.Errorf("Orientation(garbage) = %d, want 1", got)
	}
}

func TestRefuses(t *testing.T) {
	dir := t.TempDir()
	m := newMaker(t, Options{MaxPixels: 100 * 100})
	big := filepath.Join(dir, "big.jpg")
	writeJPEG(t, big, 101, 100)
	if _, err := m.Thumb(context.Background(), big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Thumb(101x100, cap 100x100) = %v, want ErrTooLarge", err)
	}
	txt := filepath.Join(dir, "a.jpg")
	os.WriteFile(txt, []byte("<script>"), 0o644)
	if _, err := m.Thumb(context.Background(), txt); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Thumb(text) = %v, want ErrUnsupported", err)
	}
	// PNG with transparency: made, on white.
	img := image.NewNRGBA(image.Rect(0, 0, 50, 20))
	var b bytes.Buffer
	png.Encode(&b, img)
	p := filepath.Join(dir, "t.png")
	os.WriteFile(p, b.Bytes(), 0o644)
	out, err := m.Thumb(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	ti, err := jpeg.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _, _ := ti.At(10, 10).RGBA(); r>>8 < 240 {
		t.Errorf("transparent pixel red = %d, want white", r>>8)
	}
}

func cacheFiles(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestCacheCap(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "thumbs")
	ctx := context.Background()
	for i := range 3 {
		writeJPEG(t, filepath.Join(dir, string(rune('a'+i))+".jpg"), 400+i, 300)
	}
	path := func(n string) string { return filepath.Join(dir, n+".jpg") }

	// A 1-byte cap keeps nothing but still answers.
	m := newMaker(t, Options{Dir: cache, MaxBytes: 1})
	if b, err := m.Thumb(ctx, path("a")); err != nil || len(b) == 0 {
		t.Fatalf("Thumb with a 1-byte cache = %d bytes, %v", len(b), err)
	}
	if n := cacheFiles(t, cache); n != 0 || m.CacheBytes() != 0 {
		t.Errorf("1-byte cache holds %d files, %d bytes; want 0", n, m.CacheBytes())
	}

	// Room for two and a half: the least recently used goes.
	m = newMaker(t, Options{Dir: cache})
	a, _ := m.Thumb(ctx, path("a"))
	m = newMaker(t, Options{Dir: cache, MaxBytes: int64(len(a)) * 5 / 2})
	m.Thumb(ctx, path("b"))
	time.Sleep(10 * time.Millisecond) // distinct use times
	m.Thumb(ctx, path("a"))           // a is now the most recent
	m.Thumb(ctx, path("c"))
	if n := cacheFiles(t, cache); n != 2 {
		t.Errorf("cache holds %d files, want 2", n)
	}
	if m.CacheBytes() > int64(len(a))*5/2 {
		t.Errorf("CacheBytes = %d, over the cap %d", m.CacheBytes(), len(a)*5/2)
	}
	// b was evicted: making it again means a decode, which a closed
	// semaphore turns into a context error.
	m.sem <- struct{}{}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.Thumb(cctx, path("a")); err != nil {
		t.Errorf("Thumb(a) from cache = %v", err)
	}
	if _, err := m.Thumb(cctx, path("b")); !errors.Is(err, context.Canceled) {
		t.Errorf("Thumb(b) = %v, want a decode (context.Canceled)", err)
	}
}

// BenchmarkThumb12MP makes a thumbnail of a 4000x3000 JPEG (no cache hit)
// and reports the heap the decode needed.
func BenchmarkThumb12MP(b *testing.B) {
	dir := b.TempDir()
	p := filepath.Join(dir, "12mp.jpg")
	img := image.NewYCbCr(image.Rect(0, 0, 4000, 3000), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = uint8(i * 7)
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	os.WriteFile(p, buf.Bytes(), 0o644)
	var peak uint64
	for b.Loop() {
		m, _ := New(Options{Dir: filepath.Join(dir, "c", b.Name())})
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, err := m.Thumb(context.Background(), p); err != nil {
			b.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		peak = max(peak, after.TotalAlloc-before.TotalAlloc)
		os.RemoveAll(filepath.Join(dir, "c"))
	}
	b.ReportMetric(float64(peak)/(1<<20), "MiB-alloc/op")
}
