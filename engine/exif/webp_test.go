package exif

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"
)

// chunk is one RIFF chunk: FourCC, little-endian size, payload padded to
// an even length.
func chunk(fourCC string, payload []byte) []byte {
	out := binary.LittleEndian.AppendUint32([]byte(fourCC), uint32(len(payload)))
	out = append(out, payload...)
	if len(payload)%2 == 1 {
		out = append(out, 0)
	}
	return out
}

// webp wraps chunks into a RIFF WEBP stream with a correct size.
func webp(chunks ...[]byte) []byte {
	body := []byte("WEBP")
	for _, c := range chunks {
		body = append(body, c...)
	}
	return append(binary.LittleEndian.AppendUint32([]byte("RIFF"), uint32(len(body))), body...)
}

// vp8x is an extended-format header: flags (0x08: EXIF present) and a
// 400x200 canvas.
var vp8x = chunk("VP8X", []byte{0x08, 0, 0, 0, 0x8F, 0x01, 0, 0xC7, 0, 0})

// onlyReader hides a bytes.Reader's Seek, to test the reading skip.
type onlyReader struct{ io.Reader }

func TestWebP(t *testing.T) {
	date := func(s string) time.Time { tm, _ := time.Parse(time.DateTime, s); return tm }
	t6 := tiff(binary.LittleEndian, 6, "", "2024:07:14 18:30:05", nil)
	image := chunk("VP8 ", bytes.Repeat([]byte{0xAB}, 1001)) // odd: padded
	tests := []struct {
		name string
		in   []byte
		want Info
		ok   bool
	}{
		{"exif after the image", webp(vp8x, image, chunk("EXIF", t6)), Info{Orientation: 6, Taken: date("2024-07-14 18:30:05")}, true},
		{"Exif prefix", webp(vp8x, image, chunk("EXIF", append([]byte("Exif\x00\x00"), t6...))), Info{Orientation: 6, Taken: date("2024-07-14 18:30:05")}, true},
		{"big endian before XMP", webp(vp8x, chunk("ICCP", []byte("icc")), image, chunk("EXIF", tiff(binary.BigEndian, 8, "", "", nil)), chunk("XMP ", []byte("<x/>"))),
			Info{Orientation: 8}, true},
		{"no exif chunk", webp(vp8x, image, chunk("XMP ", []byte("<x/>"))), Info{}, false},
		{"simple format", webp(image, chunk("EXIF", t6)), Info{}, false},
		{"not tiff", webp(vp8x, image, chunk("EXIF", []byte("garbage!garbage!"))), Info{}, false},
		{"exif truncated", webp(vp8x, image, chunk("EXIF", t6))[:len(webp(vp8x, image, chunk("EXIF", t6)))-10], Info{}, false},
		{"exif too large", webp(vp8x, image, binary.LittleEndian.AppendUint32([]byte("EXIF"), maxWebPExif+1)), Info{}, false},
		{"huge chunk size", webp(vp8x, binary.LittleEndian.AppendUint32([]byte("VP8 "), 0xFFFFFFFF), chunk("EXIF", t6)), Info{}, false},
		{"not webp", webp(vp8x)[:8], Info{}, false},
		{"avi", append([]byte("RIFF\x00\x00\x00\x00AVI "), vp8x...), Info{}, false},
	}
	for _, tt := range tests {
		for _, seek := range []bool{true, false} {
			var r io.Reader = bytes.NewReader(tt.in)
			if !seek {
				r = onlyReader{r}
			}
			got, ok := WebP(r)
			if ok != tt.ok || got.Orientation != tt.want.Orientation || !got.Taken.Equal(tt.want.Taken) {
				t.Errorf("%s (seeker %v): WebP() = %+v, %v; want %+v, %v", tt.name, seek, got, ok, tt.want, tt.ok)
			}
		}
	}
}

// TestWebPTruncated: every prefix of a WebP with EXIF reads without a
// panic and finds nothing until the whole chunk is there.
func TestWebPTruncated(t *testing.T) {
	exifChunk := chunk("EXIF", tiff(binary.BigEndian, 6, "", "", nil))
	full := webp(vp8x, chunk("VP8L", []byte("lossless")), exifChunk)
	for cut := range len(full) {
		info, ok := WebP(bytes.NewReader(full[:cut]))
		if ok || info.Orientation != 0 {
			t.Errorf("WebP(first %d of %d bytes) = %+v, %v; want nothing", cut, len(full), info, ok)
		}
	}
	if info, ok := WebP(bytes.NewReader(full)); !ok || info.Orientation != 6 {
		t.Errorf("WebP(whole) = %+v, %v; want orientation 6", info, ok)
	}
}

// FuzzWebP: no input panics; the orientation is 0-8 and a thumbnail is
// always inside the input, whether the reader seeks or not.
func FuzzWebP(f *testing.F) {
	f.Add(webp(vp8x, chunk("VP8 ", []byte("frame")), chunk("EXIF", tiff(binary.LittleEndian, 6, "2025:01:01 00:00:00", "", []byte("x")))))
	f.Add(webp(vp8x, chunk("EXIF", append([]byte("Exif\x00\x00"), tiff(binary.BigEndian, 3, "", "", nil)...))))
	f.Add(webp(chunk("VP8L", []byte("x"))))
	f.Add([]byte("RIFF\xff\xff\xff\xffWEBPVP8X\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, r := range []io.Reader{bytes.NewReader(b), onlyReader{bytes.NewReader(b)}} {
			info, _ := WebP(r)
			if info.Orientation < 0 || info.Orientation > 8 {
				t.Fatalf("Orientation = %d", info.Orientation)
			}
			if len(info.Thumbnail) > len(b) {
				t.Fatalf("thumbnail of %d bytes from %d bytes of input", len(info.Thumbnail), len(b))
			}
		}
	})
}
