package thumb

import (
	"encoding/binary"
	"io"
)

// Orientation reads the EXIF orientation (1-8) of a JPEG stream from its
// APP1 segment; 1 (as stored) when there is none or it cannot be read.
// It reads only the markers before the image data.
func Orientation(r io.Reader) int {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:2]); err != nil || hdr[0] != 0xFF || hdr[1] != 0xD8 {
		return 1
	}
	for {
		if _, err := io.ReadFull(r, hdr[:4]); err != nil || hdr[0] != 0xFF {
			return 1
		}
		marker := hdr[1]
		n := int(binary.BigEndian.Uint16(hdr[2:])) - 2
		if marker == 0xDA || marker == 0xD9 || n < 0 { // start of scan: no more metadata
			return 1
		}
		if marker != 0xE1 {
			if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
				return 1
			}
			continue
		}
		seg := make([]byte, n)
		if _, err := io.ReadFull(r, seg); err != nil {
			return 1
		}
		if o, ok := exifOrientation(seg); ok {
			return o
		}
	}
}

// exifOrientation parses "Exif\0\0" + TIFF header + IFD0 for tag 0x0112.
func exifOrientation(seg []byte) (int, bool) {
	if len(seg) < 14 || string(seg[:6]) != "Exif\x00\x00" {
		return 0, false
	}
	t := seg[6:]
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0, false
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0, false
	}
	off := int(bo.Uint32(t[4:]))
	if off < 8 || off+2 > len(t) {
		return 0, false
	}
	count := int(bo.Uint16(t[off:]))
	for i := range count {
		e := off + 2 + 12*i
		if e+12 > len(t) {
			return 0, false
		}
		if bo.Uint16(t[e:]) == 0x0112 && bo.Uint16(t[e+2:]) == 3 { // SHORT
			v := int(bo.Uint16(t[e+8:]))
			if v >= 1 && v <= 8 {
				return v, true
			}
			return 0, false
		}
	}
	return 0, false
}
