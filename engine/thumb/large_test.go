package thumb

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// cornerJPEG is a w×h JPEG, grey with a red square in its top-left
// corner (as stored), so that where the red ends up shows the rotation.
func cornerJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{128, 128, 128, 255}
			if x < w/4 && y < h/4 {
				c = color.RGBA{255, 0, 0, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func isRed(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return r>>8 > 200 && g>>8 < 60 && b>>8 < 60
}

func TestLarge(t *testing.T) {
	dir := t.TempDir()
	m := newMaker(t, Options{})
	ctx := context.Background()
	plain := cornerJPEG(t, 1600, 1200)
	for _, tc := range []struct {
		o    uint16
		w, h int
		// where the stored top-left corner shows, as fractions of the
		// output: 0 = left/top, 1 = right/bottom
		cx, cy int
	}{
		{1, 1280, 960, 0, 0},
		{3, 1280, 960, 1, 1},
		{6, 960, 1280, 1, 0},
		{8, 960, 1280, 0, 1},
		{2, 1280, 960, 1, 0},
		{5, 960, 1280, 0, 0},
	} {
		p := filepath.Join(dir, "o"+string(rune('0'+tc.o))+".jpg")
		if err := os.WriteFile(p, withOrientation(t, plain, tc.o, binary.BigEndian), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := m.ThumbSize(ctx, p, Large)
		if err != nil {
			t.Fatalf("ThumbSize(orientation %d, Large) = %v", tc.o, err)
		}
		img, err := jpeg.Decode(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		w, h := img.Bounds().Dx(), img.Bounds().Dy()
		if w != tc.w || h != tc.h {
			t.Errorf("large thumbnail of orientation %d = %dx%d, want %dx%d", tc.o, w, h, tc.w, tc.h)
			continue
		}
		// 20 px in from the expected corner is red; the opposite is not.
		x, y := 20+tc.cx*(w-41), 20+tc.cy*(h-41)
		if !isRed(img.At(x, y)) {
			t.Errorf("large thumbnail of orientation %d at (%d,%d) = %v, want red", tc.o, x, y, img.At(x, y))
		}
		if ox, oy := w-1-x, h-1-y; isRed(img.At(ox, oy)) {
			t.Errorf("large thumbnail of orientation %d at (%d,%d) is red, want grey", tc.o, ox, oy)
		}
		small, err := m.ThumbSize(ctx, p, Small)
		if err != nil {
			t.Fatal(err)
		}
		if sw, sh := thumbSize(t, small); max(sw, sh) != 320 || (sw > sh) != (w > h) {
			t.Errorf("small thumbnail of orientation %d = %dx%d, want 320 on the long side like %dx%d", tc.o, sw, sh, w, h)
		}
	}

	// A photo smaller than 1280 px keeps its size.
	p := filepath.Join(dir, "small.jpg")
	writeJPEG(t, p, 800, 600)
	out, err := m.ThumbSize(ctx, p, Large)
	if err != nil {
		t.Fatal(err)
	}
	if w, h := thumbSize(t, out); w != 800 || h != 600 {
		t.Errorf("large thumbnail of 800x600 = %dx%d, want 800x600", w, h)
	}
}

// TestLargeCache: each size has its own cache entry, and a large one is
// never the camera's embedded thumbnail.
func TestLargeCache(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "thumbs")
	ctx := context.Background()
	p := filepath.Join(dir, "a.jpg")
	embedded := solidJPEG(t, 160, 120, color.RGBA{0, 0, 255, 255})
	if err := os.WriteFile(p, withExifThumb(cornerJPEG(t, 1600, 1200), 1, embedded), 0o644); err != nil {
		t.Fatal(err)
	}
	m := newMaker(t, Options{Dir: cache, Embedded: true})
	small, err := m.ThumbSize(ctx, p, Small)
	if err != nil {
		t.Fatal(err)
	}
	if w, h := thumbSize(t, small); w != 160 || h != 120 {
		t.Errorf("small (embedded) = %dx%d, want 160x120", w, h)
	}
	large, err := m.ThumbSize(ctx, p, Large)
	if err != nil {
		t.Fatal(err)
	}
	if w, h := thumbSize(t, large); w != 1280 || h != 960 {
		t.Errorf("large = %dx%d, want 1280x960 (made from the photo)", w, h)
	}
	if n := cacheFiles(t, cache); n != 2 {
		t.Errorf("cache holds %d files after one small and one large, want 2", n)
	}
	// Both come from the cache now: a held semaphore would block a decode.
	m.sem <- struct{}{}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	for _, s := range []Size{Small, Large} {
		b, err := m.ThumbSize(cctx, p, s)
		if err != nil {
			t.Errorf("ThumbSize(%v) from cache = %v", s, err)
		}
		want := map[Size][]byte{Small: small, Large: large}[s]
		if !bytes.Equal(b, want) {
			t.Errorf("ThumbSize(%v) from cache differs from the one made", s)
		}
	}
	<-m.sem

	// Large off: refused before any work; small still made.
	off := newMaker(t, Options{Dir: filepath.Join(dir, "off"), LargeSize: -1})
	if _, err := off.ThumbSize(ctx, p, Large); !errors.Is(err, ErrNoLarge) {
		t.Errorf("ThumbSize(Large) with LargeSize -1 = %v, want ErrNoLarge", err)
	}
	if _, err := off.ThumbSize(ctx, p, Small); err != nil {
		t.Errorf("ThumbSize(Small) with LargeSize -1 = %v", err)
	}
	if _, err := off.ThumbSize(ctx, p, Size(7)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("ThumbSize(Size(7)) = %v, want ErrUnsupported", err)
	}
}

// BenchmarkThumb12MPLarge makes a large thumbnail of a 4000x3000 JPEG
// (no cache hit) and reports the heap it allocated.
func BenchmarkThumb12MPLarge(b *testing.B) {
	dir := b.TempDir()
	p := filepath.Join(dir, "12mp.jpg")
	img := image.NewYCbCr(image.Rect(0, 0, 4000, 3000), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = uint8(i * 7)
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	os.WriteFile(p, withExifThumb(buf.Bytes(), 6, nil), 0o644)
	var peak uint64
	for b.Loop() {
		m, _ := New(Options{Dir: filepath.Join(dir, "c")})
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, err := m.ThumbSize(context.Background(), p, Large); err != nil {
			b.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		peak = max(peak, after.TotalAlloc-before.TotalAlloc)
		os.RemoveAll(filepath.Join(dir, "c"))
	}
	b.ReportMetric(float64(peak)/(1<<20), "MiB-alloc/op")
}
