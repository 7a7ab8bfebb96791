package exif

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

// tiff builds a TIFF structure: IFD0 with orientation (0: none), DateTime
// and a pointer to an Exif IFD with DateTimeOriginal (each "" for none),
// and an IFD1 pointing at thumb (nil for none).
func tiff(bo binary.ByteOrder, orientation uint16, dateTime, original string, thumb []byte) []byte {
	var b bytes.Buffer
	w := func(v any) { binary.Write(&b, bo, v) }
	if bo == binary.LittleEndian {
		b.WriteString("II")
	} else {
		b.WriteString("MM")
	}
	w(uint16(42))
	w(uint32(8))
	type entry struct {
		tag, typ   uint16
		count, val uint32
	}
	var ifd0 []entry
	// Layout after the header: IFD0 (max 3 entries), Exif IFD (1), IFD1
	// (2), then the data area.
	const ifd0Off, exifOff, ifd1Off, data = 8, 8 + 2 + 3*12 + 4, 8 + 2 + 3*12 + 4 + 2 + 12 + 4, 8 + 2 + 3*12 + 4 + 2 + 12 + 4 + 2 + 2*12 + 4
	if orientation != 0 {
		ifd0 = append(ifd0, entry{0x0112, 3, 1, uint32(orientation)})
	}
	if dateTime != "" {
		ifd0 = append(ifd0, entry{0x0132, 2, uint32(len(dateTime) + 1), data})
	}
	if original != "" {
		ifd0 = append(ifd0, entry{0x8769, 4, 1, exifOff})
	}
	for len(ifd0) < 3 { // padding entries of an unused tag
		ifd0 = append(ifd0, entry{0x9999, 4, 1, 0})
	}
	writeEntry := func(e entry) {
		w(e.tag)
		w(e.typ)
		w(e.count)
		if e.typ == 3 { // SHORT: left-justified in the value field
			w(uint16(e.val))
			w(uint16(0))
		} else {
			w(e.val)
		}
	}
	w(uint16(3))
	for _, e := range ifd0 {
		writeEntry(e)
	}
	next := uint32(0)
	if thumb != nil {
		next = ifd1Off
	}
	w(next)
	// Exif IFD.
	w(uint16(1))
	writeEntry(entry{0x9003, 2, uint32(len(original) + 1), data + 20})
	w(uint32(0))
	// IFD1.
	w(uint16(2))
	writeEntry(entry{0x0201, 4, 1, data + 40})
	writeEntry(entry{0x0202, 4, 1, uint32(len(thumb))})
	w(uint32(0))
	// Data: DateTime at data, DateTimeOriginal at data+20, thumb at data+40.
	pad := func(s string, n int) { b.WriteString(s); b.Write(make([]byte, n-len(s))) }
	pad(dateTime, 20)
	pad(original, 20)
	b.Write(thumb)
	return b.Bytes()
}

// jpeg wraps segments (APP1 payloads) into a JPEG stream without image data.
func jpeg(app1 ...[]byte) []byte {
	out := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 'J', 'F'} // an APP0 first
	for _, p := range app1 {
		out = append(out, 0xFF, 0xE1)
		out = binary.BigEndian.AppendUint16(out, uint16(len(p)+2))
		out = append(out, p...)
	}
	return append(out, 0xFF, 0xDA, 0x00, 0x02, 0xFF, 0xD9)
}

func TestJPEG(t *testing.T) {
	small := []byte("\xFF\xD8tiny jpeg\xFF\xD9")
	exifSeg := func(bo binary.ByteOrder, o uint16, dt, orig string, th []byte) []byte {
		return append([]byte("Exif\x00\x00"), tiff(bo, o, dt, orig, th)...)
	}
	date := func(s string) time.Time { tm, _ := time.Parse(time.DateTime, s); return tm }
	tests := []struct {
		name string
		in   []byte
		want Info
		ok   bool
	}{
		{"big endian, all fields", jpeg(exifSeg(binary.BigEndian, 6, "2025:01:01 00:00:00", "2024:07:14 18:30:05", small)),
			Info{Orientation: 6, Taken: date("2024-07-14 18:30:05"), Thumbnail: small}, true},
		{"little endian, DateTime only", jpeg(exifSeg(binary.LittleEndian, 3, "2024:07:14 18:30:05", "", nil)),
			Info{Orientation: 3, Taken: date("2024-07-14 18:30:05")}, true},
		{"orientation out of range", jpeg(exifSeg(binary.BigEndian, 9, "", "", nil)), Info{}, true},
		{"XMP segment first", jpeg([]byte("http://ns.adobe.com/xap/1.0/\x00<x/>"), exifSeg(binary.BigEndian, 8, "", "", nil)), Info{Orientation: 8}, true},
		{"no exif", jpeg(), Info{}, false},
		{"not a jpeg", []byte("GIF89a"), Info{}, false},
		{"bad byte order", jpeg([]byte("Exif\x00\x00XX\x00\x2a\x00\x00\x00\x08")), Info{}, false},
		{"truncated segment", jpeg(exifSeg(binary.BigEndian, 6, "", "", nil))[:30], Info{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := JPEG(bytes.NewReader(tt.in))
			if ok != tt.ok || got.Orientation != tt.want.Orientation || !got.Taken.Equal(tt.want.Taken) || !bytes.Equal(got.Thumbnail, tt.want.Thumbnail) {
				t.Errorf("JPEG() = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestTIFFBounds: offsets that point outside the structure are ignored.
func TestTIFFBounds(t *testing.T) {
	good := tiff(binary.BigEndian, 6, "2024:07:14 18:30:05", "", []byte("thumbnail"))
	for cut := range len(good) {
		info, _ := TIFF(good[:cut]) // must not panic
		if info.Thumbnail != nil && len(info.Thumbnail) != len("thumbnail") {
			t.Errorf("TIFF(first %d bytes) thumbnail = %q", cut, info.Thumbnail)
		}
	}
	huge := bytes.Clone(good)
	binary.BigEndian.PutUint32(huge[4:], 0xFFFFFFF0) // IFD0 far outside
	if info, ok := TIFF(huge); !ok || info.Orientation != 0 {
		t.Errorf("TIFF(IFD0 offset outside) = %+v, %v; want nothing found", info, ok)
	}
}

// FuzzJPEG: no input panics; the orientation is 0-8 and a thumbnail is
// always inside the input.
func FuzzJPEG(f *testing.F) {
	f.Add(jpeg(append([]byte("Exif\x00\x00"), tiff(binary.BigEndian, 6, "2025:01:01 00:00:00", "2024:07:14 18:30:05", []byte("x"))...)))
	f.Add(jpeg(append([]byte("Exif\x00\x00"), tiff(binary.LittleEndian, 1, "", "", nil)...)))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xD9})
	f.Fuzz(func(t *testing.T, b []byte) {
		info, _ := JPEG(bytes.NewReader(b))
		if info.Orientation < 0 || info.Orientation > 8 {
			t.Fatalf("Orientation = %d", info.Orientation)
		}
		if len(info.Thumbnail) > len(b) {
			t.Fatalf("thumbnail of %d bytes from %d bytes of input", len(info.Thumbnail), len(b))
		}
	})
}
