package thumb

import (
	"io"

	"github.com/hearth-media/hearth/engine/exif"
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
	info, _ := exif.JPEG(r)
	o := info.Orientation
	if o == 0 {
		o = 1
	}
	return exifInfo{orient: o, thumb: info.Thumbnail}
}

// webpOrientation reads the EXIF orientation (1-8) of a WebP stream from
// its EXIF chunk; 1 when there is none.
func webpOrientation(r io.Reader) int {
	if info, _ := exif.WebP(r); info.Orientation != 0 {
		return info.Orientation
	}
	return 1
}
