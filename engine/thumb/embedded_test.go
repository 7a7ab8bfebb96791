package thumb

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

func solidJPEG(t *testing.T, w, h int, c color.Color) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		r, g, b, _ := c.RGBA()
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(r>>8), uint8(g>>8), uint8(b>>8), 255
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, nil)
	return buf.Bytes()
}

// withExifThumb puts an APP1 with IFD0 (orientation o) and IFD1 (the
// embedded JPEG thumb) after the SOI of jpg.
func withExifThumb(jpg []byte, o uint16, thumb []byte) []byte {
	bo := binary.BigEndian
	var t bytes.Buffer
	t.WriteString("MM")
	binary.Write(&t, bo, uint16(42))
	binary.Write(&t, bo, uint32(8))
	// IFD0 at 8: one entry, next IFD at 8+2+12+4 = 26.
	binary.Write(&t, bo, uint16(1))
	binary.Write(&t, bo, []uint16{0x0112, 3})
	binary.Write(&t, bo, uint32(1))
	binary.Write(&t, bo, []uint16{o, 0})
	binary.Write(&t, bo, uint32(26))
	// IFD1 at 26: two entries, no next; the thumbnail right after (26+2+24+4 = 56).
	binary.Write(&t, bo, uint16(2))
	binary.Write(&t, bo, []uint16{0x0201, 4})
	binary.Write(&t, bo, []uint32{1, 56})
	binary.Write(&t, bo, []uint16{0x0202, 4})
	binary.Write(&t, bo, []uint32{1, uint32(len(thumb))})
	binary.Write(&t, bo, uint32(0))
	t.Write(thumb)
	seg := append([]byte("Exif\x00\x00"), t.Bytes()...)
	out := binary.BigEndian.AppendUint16([]byte{0xFF, 0xD8, 0xFF, 0xE1}, uint16(len(seg)+2))
	return append(append(out, seg...), jpg[2:]...)
}

func TestEmbeddedThumb(t *testing.T) {
	dir := t.TempDir()
	small := solidJPEG(t, 160, 120, color.RGBA{255, 0, 0, 255})
	data := withExifThumb(solidJPEG(t, 640, 480, color.RGBA{0, 0, 255, 255}), 6, small)
	p := filepath.Join(dir, "cam.jpg")
	os.WriteFile(p, data, 0o644)
	if ex := readExif(bytes.NewReader(data)); ex.orient != 6 || !bytes.Equal(ex.thumb, small) {
		t.Fatalf("readExif = orientation %d, thumb %d bytes; want 6 and %d", ex.orient, len(ex.thumb), len(small))
	}
	for _, tc := range []struct {
		embedded bool
		w, h     int
		red      bool
	}{
		{false, 240, 320, false}, // from the photo, rotated
		{true, 120, 160, true},   // the camera's thumbnail, rotated, not enlarged
	} {
		m := newMaker(t, Options{Embedded: tc.embedded})
		b, err := m.Thumb(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		r, _, bl, _ := img.At(10, 10).RGBA()
		if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != tc.w || h != tc.h || (r > bl) != tc.red {
			t.Errorf("Embedded=%v: %dx%d red=%v, want %dx%d red=%v", tc.embedded, w, h, r > bl, tc.w, tc.h, tc.red)
		}
	}
}

// BenchmarkThumb12MPEmbedded: the router path, a 4000x3000 JPEG with a
// camera thumbnail (no full decode).
func BenchmarkThumb12MPEmbedded(b *testing.B) {
	dir := b.TempDir()
	img := image.NewYCbCr(image.Rect(0, 0, 4000, 3000), image.YCbCrSubsampleRatio420)
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	var sb bytes.Buffer
	jpeg.Encode(&sb, image.NewGray(image.Rect(0, 0, 160, 120)), nil)
	p := filepath.Join(dir, "12mp.jpg")
	os.WriteFile(p, withExifThumb(buf.Bytes(), 1, sb.Bytes()), 0o644)
	for b.Loop() {
		m, _ := New(Options{Dir: filepath.Join(dir, "c"), Embedded: true})
		if _, err := m.Thumb(context.Background(), p); err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(filepath.Join(dir, "c"))
	}
}
