package thumb

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzOrientation: any input gives 1-8 and never panics or reads past
// what the segment lengths allow.
func FuzzOrientation(f *testing.F) {
	plain := []byte{0xFF, 0xD8, 0xFF, 0xD9}
	f.Add(plain)
	f.Add([]byte("\xFF\xD8\xFF\xE1\x00\x10Exif\x00\x00MM\x00\x2A\x00\x00\x00\x08"))
	var tiff bytes.Buffer
	tiff.WriteString("II")
	binary.Write(&tiff, binary.LittleEndian, []uint16{42, 8, 0, 1, 0x0112, 3, 1, 0, 6, 0})
	seg := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	f.Add(append(binary.BigEndian.AppendUint16([]byte{0xFF, 0xD8, 0xFF, 0xE1}, uint16(len(seg)+2)), seg...))
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := Orientation(bytes.NewReader(b)); o < 1 || o > 8 {
			t.Fatalf("Orientation = %d", o)
		}
	})
}
