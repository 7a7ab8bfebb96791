package library

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"testing"
	"time"
)

// exifBlock builds an APP1 Exif segment in the given byte order with
// Orientation and DateTime in IFD0 and DateTimeOriginal in the Exif IFD.
func exifBlock(bo binary.ByteOrder, orientation uint16, original, dateTime string) []byte {
	var t bytes.Buffer
	if bo == binary.LittleEndian {
		t.WriteString("II")
	} else {
		t.WriteString("MM")
	}
	w := func(v any) { binary.Write(&t, bo, v) }
	w(uint16(42))
	w(uint32(8)) // IFD0 at 8
	// IFD0: 3 entries (12 bytes each) + next-IFD offset.
	ifd0End := uint32(8 + 2 + 3*12 + 4)
	dateOff := ifd0End
	exifOff := dateOff + 20
	w(uint16(3))
	w(uint16(0x0112))
	w(uint16(3))
	w(uint32(1))
	w(orientation)
	w(uint16(0))
	w(uint16(0x0132))
	w(uint16(2))
	w(uint32(20))
	w(dateOff)
	w(uint16(0x8769))
	w(uint16(4))
	w(uint32(1))
	w(exifOff)
	w(uint32(0))
	var dt [20]byte // fixed 20 bytes, as the entry says
	copy(dt[:], dateTime)
	t.Write(dt[:])
	// Exif IFD: one entry.
	origOff := exifOff + 2 + 12 + 4
	w(uint16(1))
	w(uint16(0x9003))
	w(uint16(2))
	w(uint32(20))
	w(origOff)
	w(uint32(0))
	t.WriteString(original + "\x00")
	payload := append([]byte("Exif\x00\x00"), t.Bytes()...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

func makeJPEG(t *testing.T, w, h int, exif []byte) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	out := b.Bytes()
	// Insert the Exif segment right after SOI, as cameras do.
	return append(append([]byte{0xFF, 0xD8}, exif...), out[2:]...)
}

func makePNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func box(typ string, payload ...[]byte) []byte {
	body := bytes.Join(payload, nil)
	b := make([]byte, 8, 8+len(body))
	binary.BigEndian.PutUint32(b, uint32(8+len(body)))
	copy(b[4:], typ)
	return append(b, body...)
}

// makeMP4 is ftyp, a big mdat, then moov with mvhd (version 0 or 1) at
// the end, as many encoders write it.
func makeMP4(brand string, version byte, timescale uint32, units uint64) []byte {
	ftyp := box("ftyp", []byte(brand), []byte{0, 0, 0, 0}, []byte("isom"))
	mdat := box("mdat", make([]byte, 3000))
	var mv []byte
	if version == 0 {
		mv = make([]byte, 4+4+4+4+4+80)
		binary.BigEndian.PutUint32(mv[12:], timescale)
		binary.BigEndian.PutUint32(mv[16:], uint32(units))
	} else {
		mv = make([]byte, 4+8+8+4+8+80)
		mv[0] = 1
		binary.BigEndian.PutUint32(mv[20:], timescale)
		binary.BigEndian.PutUint64(mv[24:], units)
	}
	moov := box("moov", box("mvhd", mv), box("trak", make([]byte, 50)))
	return bytes.Join([][]byte{ftyp, mdat, moov}, nil)
}

// ebml encodes one element with a one-byte size (payloads < 127 bytes) or
// an 8-byte size.
func ebml(id uint32, payload ...[]byte) []byte {
	body := bytes.Join(payload, nil)
	var b []byte
	for s := 24; s >= 0; s -= 8 {
		if c := byte(id >> s); c != 0 || len(b) > 0 {
			b = append(b, c)
		}
	}
	if len(body) < 127 {
		b = append(b, 0x80|byte(len(body)))
	} else {
		var sz [8]byte
		binary.BigEndian.PutUint64(sz[:], uint64(len(body)))
		sz[0] = 0x01
		b = append(b, sz[:]...)
	}
	return append(b, body...)
}

func makeMKV(doctype string, scale uint32, dur float64) []byte {
	var sc [4]byte
	binary.BigEndian.PutUint32(sc[:], scale)
	var d [8]byte
	binary.BigEndian.PutUint64(d[:], math.Float64bits(dur))
	head := ebml(0x1A45DFA3, ebml(0x4286, []byte{1}), ebml(0x4282, []byte(doctype)))
	seek := ebml(0x114D9B74, make([]byte, 40))
	info := ebml(0x1549A966, ebml(0x2AD7B1, sc[:]), ebml(0x4D80, []byte("hearth")), ebml(0x4489, d[:]))
	cluster := ebml(0x1F43B675, make([]byte, 1000))
	// Segment of unknown size, as live muxers write it.
	seg := append([]byte{0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, bytes.Join([][]byte{seek, info, cluster}, nil)...)
	return append(head, seg...)
}

// makeMP3 is an ID3v2 tag then CBR frames (128 kbit/s, 44.1 kHz, stereo),
// or a first frame carrying a Xing header with a frame count.
func makeMP3(frames int, xing uint32) []byte {
	id3 := []byte{'I', 'D', '3', 3, 0, 0, 0, 0, 0x01, 0x00} // 128-byte tag
	id3 = append(id3, make([]byte, 128)...)
	hdr := []byte{0xFF, 0xFB, 0x90, 0x00}
	frameLen := 144 * 128000 / 44100 // 417
	var b []byte
	b = append(b, id3...)
	for i := range frames {
		f := make([]byte, frameLen)
		copy(f, hdr)
		if i == 0 && xing != 0 {
			copy(f[4+32:], "Xing")
			binary.BigEndian.PutUint32(f[4+32+4:], 1)
			binary.BigEndian.PutUint32(f[4+32+8:], xing)
		}
		b = append(b, f...)
	}
	return b
}

func makeFLAC(rate uint32, samples uint64) []byte {
	si := make([]byte, 34)
	si[10] = byte(rate >> 12)
	si[11] = byte(rate >> 4)
	si[12] = byte(rate<<4) | 1<<1 // 2 channels-1 in bits 3..1
	si[13] = byte(15<<4) | byte(samples>>32)&0x0F
	binary.BigEndian.PutUint32(si[14:], uint32(samples))
	return append(append([]byte("fLaC"), 0x80, 0, 0, 34), si...)
}

func TestProbe(t *testing.T) {
	taken := time.Date(2024, 7, 14, 18, 30, 5, 0, time.UTC)
	tests := []struct {
		name string
		data []byte
		want Meta
	}{
		{"IMG_1.JPG", makeJPEG(t, 64, 48, exifBlock(binary.BigEndian, 6, "2024:07:14 18:30:05", "2025:01:01 00:00:00")),
			Meta{Kind: KindPhoto, Container: "jpeg", Width: 64, Height: 48, Orientation: 6, Taken: taken}},
		{"little.jpeg", makeJPEG(t, 10, 20, exifBlock(binary.LittleEndian, 3, "2024:07:14 18:30:05", "")),
			Meta{Kind: KindPhoto, Container: "jpeg", Width: 10, Height: 20, Orientation: 3, Taken: taken}},
		{"noexif.jpg", makeJPEG(t, 7, 5, nil), Meta{Kind: KindPhoto, Container: "jpeg", Width: 7, Height: 5}},
		{"shot.png", makePNG(t, 300, 200), Meta{Kind: KindPhoto, Container: "png", Width: 300, Height: 200}},
		{"wrong-ext.txt", makePNG(t, 2, 3), Meta{Kind: KindPhoto, Container: "png", Width: 2, Height: 3}},
		{"movie.mp4", makeMP4("isom", 0, 1000, 5400500), Meta{Kind: KindVideo, Container: "mp4", Duration: 5400500 * time.Millisecond}},
		{"long.mp4", makeMP4("mp42", 1, 90000, 90000*7200), Meta{Kind: KindVideo, Container: "mp4", Duration: 2 * time.Hour}},
		{"song.m4a", makeMP4("M4A ", 0, 44100, 44100*185), Meta{Kind: KindAudio, Container: "mp4", Duration: 185 * time.Second}},
		{"film.mkv", makeMKV("matroska", 1000000, 3723000), Meta{Kind: KindVideo, Container: "matroska", Duration: 3723 * time.Second}},
		{"clip.webm", makeMKV("webm", 1000, 1500000000), Meta{Kind: KindVideo, Container: "webm", Duration: 25 * time.Minute}},
		{"track.flac", makeFLAC(44100, 44100*200), Meta{Kind: KindAudio, Container: "flac", Duration: 200 * time.Second}},
		{"cbr.mp3", makeMP3(100, 0), Meta{Kind: KindAudio, Container: "mp3", Duration: time.Duration(100 * 417 * 8 * int64(time.Second) / 128000)}},
		{"vbr.mp3", makeMP3(10, 38281), Meta{Kind: KindAudio, Container: "mp3", Duration: time.Duration(38281 * 1152 * int64(time.Second) / 44100)}},
		{"doc.pdf", []byte("%PDF-1.7\n..."), Meta{Kind: KindDocument, Container: "pdf"}},
		{"notes.txt", []byte("hello"), Meta{Kind: KindDocument}},
		{"data.bin", []byte{1, 2, 3}, Meta{Kind: KindOther}},
		{"empty.mkv", nil, Meta{Kind: KindVideo}},
		{"truncated.mp4", makeMP4("isom", 0, 1000, 5000)[:60], Meta{Kind: KindVideo, Container: "mp4"}},
	}
	for _, tc := range tests {
		got := Probe(tc.name, bytes.NewReader(tc.data), int64(len(tc.data)))
		d := got.Duration - tc.want.Duration
		if d < 0 {
			d = -d
		}
		if d < time.Millisecond {
			got.Duration = tc.want.Duration
		}
		if got != tc.want {
			t.Errorf("Probe(%s) = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func FuzzProbe(f *testing.F) {
	f.Add("a.mkv", makeMKV("webm", 1000, 5))
	f.Add("a.mp4", makeMP4("isom", 1, 1, 5))
	f.Add("a.mp3", makeMP3(3, 4))
	f.Add("a.flac", makeFLAC(1, 1))
	f.Add("a.jpg", append([]byte{0xFF, 0xD8}, exifBlock(binary.LittleEndian, 1, "x", "y")...))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		Probe(name, bytes.NewReader(data), int64(len(data)))
	})
}
