package thumb

import (
	"encoding/binary"
	"io"
)

// exifInfo is what the thumbnailer uses of a JPEG's EXIF data.
type exifInfo struct {
	orient int    // 1-8
	thumb  []byte // the embedded thumbnail (IFD1 JPEG), or nil
}

// Orientation reads the EXIF orientation (1-8) of a JPEG stream from its
// APP1 segment; 1 (as stored) when there is none or it cannot be read.
// It reads only the markers before the image data.
func Orientation(r io.Reader) int { return readExif(r).orient }

func readExif(r io.Reader) exifInfo {
	none := exifInfo{orient: 1}
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:2]); err != nil || hdr[0] != 0xFF || hdr[1] != 0xD8 {
		return none
	}
	for {
		if _, err := io.ReadFull(r, hdr[:4]); err != nil || hdr[0] != 0xFF {
			return none
		}
		marker := hdr[1]
		n := int(binary.BigEndian.Uint16(hdr[2:])) - 2
		if marker == 0xDA || marker == 0xD9 || n < 0 { // start of scan: no more metadata
			return none
		}
		if marker != 0xE1 {
			if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
				return none
			}
			continue
		}
		seg := make([]byte, n)
		if _, err := io.ReadFull(r, seg); err != nil {
			return none
		}
		if info, ok := parseExif(seg); ok {
			return info
		}
	}
}

// parseExif reads "Exif\0\0" + TIFF header: IFD0's orientation (tag
// 0x0112) and IFD1's embedded JPEG (tags 0x0201 offset, 0x0202 length).
func parseExif(seg []byte) (exifInfo, bool) {
	info := exifInfo{orient: 1}
	if len(seg) < 14 || string(seg[:6]) != "Exif\x00\x00" {
		return info, false
	}
	t := seg[6:]
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return info, false
	}
	if bo.Uint16(t[2:]) != 42 {
		return info, false
	}
	// ifd calls fn for each 12-byte entry of the IFD at off and returns
	// the offset of the next IFD (0 when none or unreadable).
	ifd := func(off int, fn func(tag, typ uint16, val []byte)) int {
		if off < 8 || off+2 > len(t) {
			return 0
		}
		count := int(bo.Uint16(t[off:]))
		end := off + 2 + 12*count
		if end+4 > len(t) {
			return 0
		}
		for i := range count {
			e := t[off+2+12*i:]
			fn(bo.Uint16(e), bo.Uint16(e[2:]), e[8:12])
		}
		return int(bo.Uint32(t[end:]))
	}
	found := false
	next := ifd(int(bo.Uint32(t[4:])), func(tag, typ uint16, val []byte) {
		if tag == 0x0112 && typ == 3 { // SHORT
			if v := int(bo.Uint16(val)); v >= 1 && v <= 8 {
				info.orient, found = v, true
			}
		}
	})
	var toff, tlen int
	ifd(next, func(tag, typ uint16, val []byte) {
		if typ != 4 { // LONG
			return
		}
		switch tag {
		case 0x0201:
			toff = int(bo.Uint32(val))
		case 0x0202:
			tlen = int(bo.Uint32(val))
		}
	})
	if toff > 0 && tlen > 0 && toff <= len(t) && tlen <= len(t)-toff {
		info.thumb = t[toff : toff+tlen]
		found = true
	}
	return info, found
}
