package thumb

import (
	"bytes"
	"context"
	"errors"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

// TestWebP: lossy (VP8) and lossless (VP8L) WebP photos from cwebp
// (testdata/README) get thumbnails with the photo's content, not a grey
// square: the left half has no blue, the right half full blue. The pixel
// cap applies to WebP as to the other formats.
func TestWebP(t *testing.T) {
	m := newMaker(t, Options{Size: 100})
	for _, name := range []string{"lossy-400x200.webp", "lossless-400x200.webp"} {
		p := filepath.Join("testdata", name)
		out, err := m.Thumb(context.Background(), p)
		if err != nil {
			t.Fatalf("Thumb(%s) = %v", name, err)
		}
		if w, h := thumbSize(t, out); w != 100 || h != 50 {
			t.Errorf("Thumb(%s) = %dx%d, want 100x50", name, w, h)
		}
		img, err := jpeg.Decode(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		_, _, bl, _ := img.At(10, 25).RGBA()
		_, _, br, _ := img.At(90, 25).RGBA()
		if bl>>8 > 60 || br>>8 < 190 {
			t.Errorf("Thumb(%s): blue left %d, right %d; want about 0 and 255", name, bl>>8, br>>8)
		}
	}
	small := newMaker(t, Options{MaxPixels: 399 * 200})
	if _, err := small.Thumb(context.Background(), filepath.Join("testdata", "lossy-400x200.webp")); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Thumb(400x200 WebP, cap 399x200) = %v, want ErrTooLarge", err)
	}
	// A truncated WebP is refused, not a crash.
	b, err := os.ReadFile(filepath.Join("testdata", "lossy-400x200.webp"))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.webp")
	os.WriteFile(cut, b[:len(b)/2], 0o644)
	if _, err := m.Thumb(context.Background(), cut); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Thumb(truncated WebP) = %v, want ErrUnsupported", err)
	}
}
