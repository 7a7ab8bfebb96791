package library

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

// makeWebP builds an extended-format WebP: VP8X, an image chunk of
// imageLen bytes (not a real frame: Probe does not decode WebP) and, when
// exifSeg is an APP1 segment from exifBlock, its payload as the EXIF
// chunk after the image, where cwebp and exiftool put it.
func makeWebP(imageLen int, exifSeg []byte) []byte {
	le := binary.LittleEndian
	chunk := func(fourCC string, payload []byte) []byte {
		out := le.AppendUint32([]byte(fourCC), uint32(len(payload)))
		out = append(out, payload...)
		if len(payload)%2 == 1 {
			out = append(out, 0)
		}
		return out
	}
	body := []byte("WEBP")
	body = append(body, chunk("VP8X", []byte{0x08, 0, 0, 0, 63, 0, 0, 47, 0, 0})...)
	body = append(body, chunk("VP8 ", make([]byte, imageLen))...)
	if exifSeg != nil {
		body = append(body, chunk("EXIF", exifSeg[4:])...) // without FF E1 and the length
	}
	return append(le.AppendUint32([]byte("RIFF"), uint32(len(body))), body...)
}

// TestProbeWebP: a WebP's orientation and date taken come from its EXIF
// chunk, also when the image data before it is larger than the head
// Probe reads.
func TestProbeWebP(t *testing.T) {
	taken := time.Date(2024, 7, 14, 18, 30, 5, 0, time.UTC)
	tests := []struct {
		name string
		data []byte
		want Meta
	}{
		{"small.webp", makeWebP(1001, exifBlock(binary.LittleEndian, 6, "2024:07:14 18:30:05", "")),
			Meta{Kind: KindPhoto, Container: "webp", Orientation: 6, Taken: taken}},
		{"big.webp", makeWebP(headSize+1000, exifBlock(binary.BigEndian, 8, "", "2024:07:14 18:30:05")),
			Meta{Kind: KindPhoto, Container: "webp", Orientation: 8, Taken: taken}},
		{"noexif.webp", makeWebP(100, nil), Meta{Kind: KindPhoto, Container: "webp"}},
		{"cut.webp", makeWebP(100, exifBlock(binary.BigEndian, 6, "", ""))[:150], Meta{Kind: KindPhoto, Container: "webp"}},
	}
	for _, tc := range tests {
		got := Probe(tc.name, bytes.NewReader(tc.data), int64(len(tc.data)))
		if got != tc.want {
			t.Errorf("Probe(%s) = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
