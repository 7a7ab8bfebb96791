package exif

import (
	"bytes"
	"encoding/binary"
	"io"
)

// maxWebPExif bounds the EXIF chunk read into memory: a photo's EXIF with
// its camera thumbnail is some tens of KiB.
const maxWebPExif = 256 << 10

// maxChunks bounds the RIFF chunks walked before giving up (an extended
// WebP has a handful: VP8X, ICCP, ANIM/ALPH, the image, EXIF, XMP).
const maxChunks = 64

// WebP reads the EXIF chunk of a WebP stream (RIFF "WEBP"). Only the
// extended format (a first VP8X chunk) carries metadata; the EXIF chunk
// usually follows the image data, which is skipped by seeking when r is
// an io.Seeker and by reading otherwise. The chunk payload is a TIFF
// structure, with or without an "Exif\0\0" prefix (writers differ). At
// most one chunk of up to 256 KiB is held in memory. ok is false when
// the stream has no readable EXIF chunk.
func WebP(r io.Reader) (info Info, ok bool) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil || string(hdr[:4]) != "RIFF" || string(hdr[8:12]) != "WEBP" {
		return Info{}, false
	}
	seeker, _ := r.(io.Seeker)
	for k := range maxChunks {
		if _, err := io.ReadFull(r, hdr[:8]); err != nil {
			return Info{}, false
		}
		fourCC := string(hdr[:4])
		size := int64(binary.LittleEndian.Uint32(hdr[4:8]))
		if k == 0 && fourCC != "VP8X" {
			return Info{}, false // simple format (VP8 or VP8L): no metadata
		}
		if fourCC == "EXIF" {
			if size > maxWebPExif {
				return Info{}, false
			}
			payload := make([]byte, size)
			if _, err := io.ReadFull(r, payload); err != nil {
				return Info{}, false
			}
			return TIFF(bytes.TrimPrefix(payload, []byte("Exif\x00\x00")))
		}
		skip := size + size&1 // chunks are padded to an even size
		if seeker != nil {
			if _, err := seeker.Seek(skip, io.SeekCurrent); err != nil {
				return Info{}, false
			}
		} else if _, err := io.CopyN(io.Discard, r, skip); err != nil {
			return Info{}, false
		}
	}
	return Info{}, false
}
