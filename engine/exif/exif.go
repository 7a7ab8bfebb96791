// Package exif reads the few EXIF fields Hearth uses from a JPEG or a
// WebP: the orientation, the date the photo was taken and the camera's
// embedded thumbnail. It is a bounds-checked reader of the TIFF structure
// in a JPEG's APP1 "Exif" segment or a WebP's EXIF chunk, nothing more:
// every offset is checked against the segment, IFDs are capped in size,
// and no input makes it panic (fuzzed). engine/thumb (orientation,
// embedded thumbnails) and engine/library (orientation, date taken) share
// it.
package exif

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
	"time"
)

// Info is what a photo's EXIF data says.
type Info struct {
	// Orientation is the TIFF orientation 1-8 (1: as stored; 6: turn 90°
	// clockwise to show); 0 when absent or out of range.
	Orientation int
	// Taken is DateTimeOriginal, else DateTime (camera local time, read
	// as UTC); zero when neither parses.
	Taken time.Time
	// Thumbnail is IFD1's embedded JPEG (tags 0x0201/0x0202), a slice of
	// the parsed data; nil when none.
	Thumbnail []byte
}

// maxEntries bounds one IFD (real ones have a few dozen entries).
const maxEntries = 512

// maxSegments bounds the JPEG markers read before giving up.
const maxSegments = 64

// JPEG reads the first Exif APP1 segment of a JPEG stream. It reads only
// the markers before the image data (at most one segment, 64 KiB, in
// memory). ok is false when the stream has no readable Exif segment.
func JPEG(r io.Reader) (info Info, ok bool) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:2]); err != nil || hdr[0] != 0xFF || hdr[1] != 0xD8 {
		return Info{}, false
	}
	for range maxSegments {
		if _, err := io.ReadFull(r, hdr[:2]); err != nil || hdr[0] != 0xFF {
			return Info{}, false
		}
		marker := hdr[1]
		switch {
		case marker == 0xD8 || marker >= 0xD0 && marker <= 0xD7 || marker == 0x01 || marker == 0xFF:
			continue // standalone markers (0xFF: fill byte)
		case marker == 0xDA || marker == 0xD9: // start of scan: no more metadata
			return Info{}, false
		}
		if _, err := io.ReadFull(r, hdr[2:4]); err != nil {
			return Info{}, false
		}
		n := int(binary.BigEndian.Uint16(hdr[2:])) - 2
		if n < 0 {
			return Info{}, false
		}
		if marker != 0xE1 {
			if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
				return Info{}, false
			}
			continue
		}
		seg := make([]byte, n)
		if _, err := io.ReadFull(r, seg); err != nil {
			return Info{}, false
		}
		if bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return TIFF(seg[6:])
		}
		// Another APP1 (XMP): keep looking.
	}
	return Info{}, false
}

// TIFF reads a TIFF structure (an Exif segment after its "Exif\0\0"):
// IFD0's Orientation and DateTime, the Exif IFD's DateTimeOriginal and
// IFD1's embedded JPEG. ok is false when t is not TIFF.
func TIFF(t []byte) (info Info, ok bool) {
	if len(t) < 8 {
		return Info{}, false
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return Info{}, false
	}
	if bo.Uint16(t[2:]) != 42 {
		return Info{}, false
	}
	// str is an ASCII value: inline up to 4 bytes, else at its offset.
	str := func(typ uint16, count, valOff uint32, entry []byte) string {
		if typ != 2 || count == 0 || count > 64 {
			return ""
		}
		var s []byte
		if count <= 4 {
			s = entry[8 : 8+count]
		} else if uint64(valOff)+uint64(count) <= uint64(len(t)) {
			s = t[valOff : valOff+count]
		}
		return strings.TrimRight(string(s), "\x00 ")
	}
	// ifd calls fn for each entry of the IFD at off and returns the
	// offset of the next IFD (0 when none or unreadable).
	ifd := func(off uint32, fn func(tag, typ uint16, count, val uint32, entry []byte)) uint32 {
		if off < 8 || uint64(off)+2 > uint64(len(t)) {
			return 0
		}
		n := int(bo.Uint16(t[off:]))
		if n > maxEntries {
			return 0
		}
		for k := range n {
			e := int(off) + 2 + 12*k
			if e+12 > len(t) {
				return 0
			}
			entry := t[e : e+12]
			fn(bo.Uint16(entry), bo.Uint16(entry[2:]), bo.Uint32(entry[4:]), bo.Uint32(entry[8:]), entry)
		}
		end := int(off) + 2 + 12*n
		if end+4 > len(t) {
			return 0
		}
		return bo.Uint32(t[end:])
	}
	var dateTime, original string
	var exifIFD uint32
	next := ifd(bo.Uint32(t[4:]), func(tag, typ uint16, count, val uint32, entry []byte) {
		switch {
		case tag == 0x0112 && typ == 3: // SHORT
			if o := int(bo.Uint16(entry[8:])); o >= 1 && o <= 8 {
				info.Orientation = o
			}
		case tag == 0x0132:
			dateTime = str(typ, count, val, entry)
		case tag == 0x8769:
			exifIFD = val
		}
	})
	if exifIFD != 0 {
		ifd(exifIFD, func(tag, typ uint16, count, val uint32, entry []byte) {
			if tag == 0x9003 {
				original = str(typ, count, val, entry)
			}
		})
	}
	var toff, tlen uint32
	if next != 0 {
		ifd(next, func(tag, typ uint16, count, val uint32, _ []byte) {
			if typ != 4 { // LONG
				return
			}
			switch tag {
			case 0x0201:
				toff = val
			case 0x0202:
				tlen = val
			}
		})
	}
	if toff > 0 && tlen > 0 && uint64(toff)+uint64(tlen) <= uint64(len(t)) {
		info.Thumbnail = t[toff : toff+tlen]
	}
	for _, s := range []string{original, dateTime} {
		if tm, err := time.Parse("2006:01:02 15:04:05", s); err == nil {
			info.Taken = tm
			break
		}
	}
	return info, true
}
