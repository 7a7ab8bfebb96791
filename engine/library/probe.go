package library

import (
	"bytes"
	"encoding/binary"
	"image"
	_ "image/gif" // DecodeConfig for GIF
	_ "image/jpeg"
	_ "image/png"
	"io"
	"math"
	"path"
	"strings"
	"time"

	"github.com/hearth-media/hearth/engine/exif"
)

// Kind is what a file is, for people.
type Kind string

const (
	KindVideo    Kind = "video"
	KindAudio    Kind = "audio"
	KindPhoto    Kind = "photo"
	KindDocument Kind = "document"
	KindOther    Kind = "other"
)

var extKinds = map[string]Kind{}

func init() {
	for kind, exts := range map[Kind]string{
		KindVideo:    "mkv mk3d mp4 m4v mov webm avi ts m2ts mpg mpeg ogv wmv flv 3gp",
		KindAudio:    "mp3 flac m4a m4b aac ogg oga opus wav wma mka alac aiff",
		KindPhoto:    "jpg jpeg png gif webp heic heif bmp tif tiff",
		KindDocument: "pdf epub mobi txt md doc docx odt rtf srt vtt ass nfo cbz cbr djvu",
	} {
		for _, e := range strings.Fields(exts) {
			extKinds["."+e] = kind
		}
	}
}

// KindOf classifies a file by its extension alone.
func KindOf(name string) Kind {
	if k, ok := extKinds[strings.ToLower(path.Ext(name))]; ok {
		return k
	}
	return KindOther
}

// Meta is what Probe learns from a file's headers.
type Meta struct {
	Kind      Kind
	Container string // "jpeg", "png", "mp4", "matroska", "webm", "mp3", "flac", "ogg", …; "" unknown
	Width     int
	Height    int
	// Orientation is the EXIF orientation (1–8; 0 unknown).
	Orientation int
	Taken       time.Time // EXIF DateTimeOriginal (local time of the camera, stored as UTC)
	Duration    time.Duration
}

// Bounds on what Probe reads: headers only, never a whole file.
const (
	headSize    = 256 << 10 // first bytes read for magic, EXIF, MKV Info, MP3 headers
	maxBoxes    = 64        // MP4 boxes looked at per level
	maxImageCfg = 1 << 20   // bytes image.DecodeConfig may read
)

// Probe classifies a file by its magic bytes (falling back to the
// extension) and reads cheap metadata from its headers. It reads at most a
// few hundred KiB through r whatever the file's size. Errors in the data
// only mean less metadata.
func Probe(name string, r io.ReaderAt, size int64) Meta {
	m := Meta{Kind: KindOf(name)}
	head := make([]byte, min(size, headSize))
	n, _ := r.ReadAt(head, 0)
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		m.Kind, m.Container = KindPhoto, "jpeg"
		m.Orientation, m.Taken = jpegExif(head)
		m.imageConfig(r, size)
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		m.Kind, m.Container = KindPhoto, "png"
		m.imageConfig(r, size)
	case bytes.HasPrefix(head, []byte("GIF8")):
		m.Kind, m.Container = KindPhoto, "gif"
		m.imageConfig(r, size)
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		m.Kind, m.Container = KindPhoto, "webp"
		// The EXIF chunk usually follows the image data, past head: the
		// section reader lets exif.WebP seek over the chunks before it.
		info, _ := exif.WebP(io.NewSectionReader(r, 0, size))
		m.Orientation, m.Taken = info.Orientation, info.Taken
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "AVI ":
		m.Kind, m.Container = KindVideo, "avi"
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WAVE":
		m.Kind, m.Container = KindAudio, "wav"
	case bytes.HasPrefix(head, []byte{0x1A, 0x45, 0xDF, 0xA3}):
		m.Container, m.Duration = matroska(head)
		if m.Kind != KindAudio {
			m.Kind = KindVideo
		}
	case len(head) >= 12 && string(head[4:8]) == "ftyp":
		brand := string(head[8:12])
		m.Container = "mp4"
		switch {
		case brand == "heic" || brand == "heix" || brand == "mif1":
			m.Kind, m.Container = KindPhoto, "heif"
		case strings.HasPrefix(brand, "M4A") || strings.HasPrefix(brand, "M4B"):
			m.Kind = KindAudio
		case brand == "qt  ":
			m.Kind, m.Container = KindVideo, "mov"
		default:
			if m.Kind != KindAudio {
				m.Kind = KindVideo
			}
		}
		if m.Container != "heif" {
			m.Duration = mp4Duration(r, size)
		}
	case bytes.HasPrefix(head, []byte("fLaC")):
		m.Kind, m.Container = KindAudio, "flac"
		m.Duration = flacDuration(head)
	case bytes.HasPrefix(head, []byte("OggS")):
		m.Container = "ogg"
		if m.Kind != KindVideo {
			m.Kind = KindAudio
		}
	case bytes.HasPrefix(head, []byte("%PDF-")):
		m.Kind, m.Container = KindDocument, "pdf"
	case bytes.HasPrefix(head, []byte("ID3")) || (m.Kind == KindAudio || m.Kind == KindOther) && mp3Sync(head, 0):
		if d, ok := mp3Duration(head, size); ok {
			m.Kind, m.Container, m.Duration = KindAudio, "mp3", d
		}
	}
	return m
}

func (m *Meta) imageConfig(r io.ReaderAt, size int64) {
	cfg, _, err := image.DecodeConfig(io.NewSectionReader(r, 0, min(size, maxImageCfg)))
	if err != nil {
		return
	}
	m.Width, m.Height = cfg.Width, cfg.Height
}

// jpegExif reads the orientation and the date taken from the Exif APP1
// segment among the JPEG's first segments (package engine/exif).
func jpegExif(b []byte) (orientation int, taken time.Time) {
	info, _ := exif.JPEG(bytes.NewReader(b))
	return info.Orientation, info.Taken
}

// mp4Duration walks the top-level boxes to moov, then moov's children to
// mvhd. moov may sit at the end of the file: boxes are skipped by their
// sizes, never read.
func mp4Duration(r io.ReaderAt, size int64) time.Duration {
	off, end := int64(0), size
	inMoov := false
	for range maxBoxes {
		if off+8 > end {
			return 0
		}
		var h [16]byte
		if _, err := r.ReadAt(h[:8], off); err != nil {
			return 0
		}
		bsize, typ, hdr := int64(binary.BigEndian.Uint32(h[:])), string(h[4:8]), int64(8)
		switch bsize {
		case 1:
			if _, err := r.ReadAt(h[8:16], off+8); err != nil {
				return 0
			}
			bsize, hdr = int64(binary.BigEndian.Uint64(h[8:])), 16
		case 0:
			bsize = end - off
		}
		if bsize < hdr || off+bsize > end {
			return 0
		}
		switch {
		case !inMoov && typ == "moov":
			inMoov, off, end = true, off+hdr, off+bsize
			continue
		case inMoov && typ == "mvhd":
			var b [32]byte
			n, _ := r.ReadAt(b[:min(int64(len(b)), bsize-hdr)], off+hdr)
			return mvhd(b[:n])
		}
		off += bsize
	}
	return 0
}

func mvhd(b []byte) time.Duration {
	if len(b) < 20 {
		return 0
	}
	var scale, dur uint64
	if b[0] == 1 {
		if len(b) < 32 {
			return 0
		}
		scale, dur = uint64(binary.BigEndian.Uint32(b[20:])), binary.BigEndian.Uint64(b[24:])
	} else {
		scale, dur = uint64(binary.BigEndian.Uint32(b[12:])), uint64(binary.BigEndian.Uint32(b[16:]))
	}
	return scaled(dur, scale)
}

// scaled is units/scale seconds, 0 when nonsensical.
func scaled(units, scale uint64) time.Duration {
	if scale == 0 || units == math.MaxUint64 || units == math.MaxUint32 {
		return 0
	}
	secs := float64(units) / float64(scale)
	if secs <= 0 || secs > 1e7 {
		return 0
	}
	return time.Duration(secs * float64(time.Second))
}

// flacDuration reads STREAMINFO, which the format puts first.
func flacDuration(b []byte) time.Duration {
	if len(b) < 8+34 || b[4]&0x7F != 0 {
		return 0
	}
	si := b[8:]
	rate := uint64(si[10])<<12 | uint64(si[11])<<4 | uint64(si[12])>>4
	total := uint64(si[13]&0x0F)<<32 | uint64(binary.BigEndian.Uint32(si[14:]))
	return scaled(total, rate)
}

// MP3 frame header tables (MPEG-1, MPEG-2/2.5 Layer III).
var (
	mp3Bitrates = [2][16]int{
		{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0}, // MPEG-1 L3
		{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0},     // MPEG-2/2.5 L3
	}
	mp3Rates = [4][3]int{{11025, 12000, 8000}, {0, 0, 0}, {22050, 24000, 16000}, {44100, 48000, 32000}} // by version bits
)

func mp3Sync(b []byte, i int) bool {
	return i+4 <= len(b) && b[i] == 0xFF && b[i+1]&0xE0 == 0xE0 && b[i+1]&0x06 == 0x02 && // layer III
		b[i+1]&0x18 != 0x08 && b[i+2]&0xF0 != 0xF0 && b[i+2]&0xF0 != 0 && b[i+2]&0x0C != 0x0C
}

// mp3Duration: after any ID3v2 tag, the first frame's Xing/Info or VBRI
// header gives the frame count (VBR); otherwise size/bitrate (CBR).
func mp3Duration(b []byte, size int64) (time.Duration, bool) {
	start := 0
	if len(b) >= 10 && string(b[:3]) == "ID3" {
		tag := int(b[6]&0x7F)<<21 | int(b[7]&0x7F)<<14 | int(b[8]&0x7F)<<7 | int(b[9]&0x7F)
		start = 10 + tag
		if b[5]&0x10 != 0 {
			start += 10
		}
	}
	i := start
	for ; i < len(b) && i < start+4096 && !mp3Sync(b, i); i++ {
	}
	if !mp3Sync(b, i) {
		return 0, false
	}
	ver := int(b[i+1]>>3) & 3 // 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5
	mpeg1 := ver == 3
	t := 1
	if mpeg1 {
		t = 0
	}
	kbps := mp3Bitrates[t][b[i+2]>>4]
	rate := mp3Rates[ver][(b[i+2]>>2)&3]
	mono := b[i+3]>>6 == 3
	if kbps == 0 || rate == 0 {
		return 0, false
	}
	samples := 1152
	if !mpeg1 {
		samples = 576
	}
	side := 32
	switch {
	case mpeg1 && mono, !mpeg1 && !mono:
		side = 17
	case !mpeg1 && mono:
		side = 9
	}
	if x := i + 4 + side; x+12 <= len(b) && (string(b[x:x+4]) == "Xing" || string(b[x:x+4]) == "Info") {
		if binary.BigEndian.Uint32(b[x+4:])&1 != 0 {
			frames := uint64(binary.BigEndian.Uint32(b[x+8:]))
			return scaled(frames*uint64(samples), uint64(rate)), true
		}
	}
	if v := i + 4 + 32; v+18 <= len(b) && string(b[v:v+4]) == "VBRI" {
		frames := uint64(binary.BigEndian.Uint32(b[v+14:]))
		return scaled(frames*uint64(samples), uint64(rate)), true
	}
	audio := size - int64(i)
	return scaled(uint64(audio)*8, uint64(kbps)*1000), true
}

// EBML element IDs of the Matroska headers read here.
const (
	ebmlDocType       = 0x4282
	mkvSegment        = 0x18538067
	mkvInfo           = 0x1549A966
	mkvTimecodeScale  = 0x2AD7B1
	mkvDuration       = 0x4489
	mkvCluster        = 0x1F43B675
	ebmlUnknownLength = -1
)

// vint reads an EBML variable-length integer; id keeps the marker bits.
func vint(b []byte, id bool) (val int64, n int) {
	if len(b) == 0 || b[0] == 0 {
		return 0, 0
	}
	n = 1
	for mask := byte(0x80); b[0]&mask == 0; mask >>= 1 {
		n++
	}
	if n > 8 || n > len(b) || id && n > 4 {
		return 0, 0
	}
	v := uint64(b[0])
	if !id {
		v &= uint64(0xFF >> n)
	}
	allOnes := v == uint64(0xFF>>n)
	for _, c := range b[1:n] {
		v = v<<8 | uint64(c)
		allOnes = allOnes && c == 0xFF
	}
	if !id && allOnes {
		return ebmlUnknownLength, n
	}
	return int64(v), n
}

// ebmlElem reads an element header at b[i:]: id, data start, data size.
func ebmlElem(b []byte, i int) (id int64, data int, size int64, ok bool) {
	id, n := vint(b[i:], true)
	if n == 0 {
		return 0, 0, 0, false
	}
	size, m := vint(b[i+n:], false)
	if m == 0 {
		return 0, 0, 0, false
	}
	return id, i + n + m, size, true
}

// matroska reads the DocType and the Segment Info's Duration from the
// first bytes of the file (Info comes before any Cluster in practice).
func matroska(b []byte) (container string, d time.Duration) {
	container = "matroska"
	id, data, size, ok := ebmlElem(b, 0)
	if !ok || id != 0x1A45DFA3 || size < 0 || size > int64(len(b)-data) {
		return
	}
	for i := data; i < data+int(size); {
		cid, cdata, csize, ok := ebmlElem(b, i)
		if !ok || csize < 0 || csize > int64(len(b)-cdata) {
			return
		}
		if cid == ebmlDocType && string(b[cdata:cdata+int(csize)]) == "webm" {
			container = "webm"
		}
		i = cdata + int(csize)
	}
	i := data + int(size)
	id, data, _, ok = ebmlElem(b, i)
	if !ok || id != mkvSegment {
		return
	}
	for i = data; i < len(b); {
		cid, cdata, csize, ok := ebmlElem(b, i)
		if !ok || cid == mkvCluster || csize < 0 || csize > int64(len(b)) {
			return
		}
		if cid != mkvInfo {
			i = cdata + int(csize)
			continue
		}
		if csize > int64(len(b)-cdata) {
			return
		}
		scale, dur := uint64(1000000), 0.0
		for j := cdata; j < cdata+int(csize); {
			eid, edata, esize, ok := ebmlElem(b, j)
			if !ok || esize < 0 || esize > int64(cdata+int(csize)-edata) {
				break
			}
			v := b[edata : edata+int(esize)]
			switch {
			case eid == mkvTimecodeScale && esize <= 8:
				scale = 0
				for _, c := range v {
					scale = scale<<8 | uint64(c)
				}
			case eid == mkvDuration && esize == 4:
				dur = float64(math.Float32frombits(binary.BigEndian.Uint32(v)))
			case eid == mkvDuration && esize == 8:
				dur = math.Float64frombits(binary.BigEndian.Uint64(v))
			}
			j = edata + int(esize)
		}
		if dur > 0 && dur*float64(scale) < 1e7*1e9 {
			d = time.Duration(dur * float64(scale))
		}
		return
	}
	return
}
