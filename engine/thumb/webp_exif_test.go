package thumb

import (
	"bytes"
	"context"
	"encoding/binary"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

// withWebPExif turns a simple-format WebP (RIFF, WEBP, one image chunk)
// into the extended format: a VP8X header (EXIF flag, w×h canvas), the
// image chunk, then an EXIF chunk whose TIFF says orientation o, where
// cwebp and exiftool put it.
func withWebPExif(t *testing.T, simple []byte, w, h int, o uint16) []byte {
	t.Helper()
	if len(simple) < 20 || string(simple[:4]) != "RIFF" || string(simple[8:12]) != "WEBP" {
		t.Fatal("fixture is not a WebP")
	}
	le := binary.LittleEndian
	chunk := func(fourCC string, payload []byte) []byte {
		out := le.AppendUint32([]byte(fourCC), uint32(len(payload)))
		out = append(out, payload...)
		if len(payload)%2 == 1 {
			out = append(out, 0)
		}
		return out
	}
	vp8x := []byte{0x08, 0, 0, 0}
	vp8x = append(vp8x, byte(w-1), byte((w-1)>>8), byte((w-1)>>16), byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	var tiff bytes.Buffer
	tiff.WriteString("II")
	binary.Write(&tiff, le, []uint16{42, 8, 0, 1, 0x0112, 3, 1, 0, o, 0, 0, 0})
	body := []byte("WEBP")
	body = append(body, chunk("VP8X", vp8x)...)
	body = append(body, simple[12:]...) // the image chunk(s), already padded
	body = append(body, chunk("EXIF", append([]byte("Exif\x00\x00"), tiff.Bytes()...))...)
	return append(le.AppendUint32([]byte("RIFF"), uint32(len(body))), body...)
}

// TestWebPOrientation: a WebP whose EXIF chunk says orientation 6 (turn
// 90° clockwise) gets a portrait thumbnail, the photo's left half (no
// blue) on top; orientation 1 keeps it landscape.
func TestWebPOrientation(t *testing.T) {
	m := newMaker(t, Options{Size: 100})
	dir := t.TempDir()
	for _, name := range []string{"lossy-400x200.webp", "lossless-400x200.webp"} {
		src, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			o    uint16
			w, h int
		}{{6, 50, 100}, {1, 100, 50}} {
			p := filepath.Join(dir, "o"+string(rune('0'+tc.o))+"-"+name)
			if err := os.WriteFile(p, withWebPExif(t, src, 400, 200, tc.o), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := m.Thumb(context.Background(), p)
			if err != nil {
				t.Fatalf("Thumb(%s, orientation %d) = %v", name, tc.o, err)
			}
			img, err := jpeg.Decode(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != tc.w || h != tc.h {
				t.Fatalf("Thumb(%s, orientation %d) = %dx%d, want %dx%d", name, tc.o, w, h, tc.w, tc.h)
			}
			if tc.o != 6 {
				continue
			}
			_, _, top, _ := img.At(25, 10).RGBA()
			_, _, bottom, _ := img.At(25, 90).RGBA()
			if top>>8 > 60 || bottom>>8 < 190 {
				t.Errorf("Thumb(%s, orientation 6): blue top %d, bottom %d; want about 0 and 255", name, top>>8, bottom>>8)
			}
		}
	}
}
