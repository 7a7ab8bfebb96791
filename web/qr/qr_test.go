package qr

import (
	"bytes"
	"image/png"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPNG(t *testing.T) {
	b, err := PNG("http://192.168.1.20:9091/s/ceYx9zejC5GziHm_kr8TS8pq", 256)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if w := img.Bounds().Dx(); w != 256 {
		t.Errorf("PNG width = %d, want 256", w)
	}
	if _, err := PNG(strings.Repeat("x", MaxText+1), 256); err == nil {
		t.Error("PNG of an over-long text: no error")
	}
}

func TestTerminal(t *testing.T) {
	s, err := Terminal("http://nas.local:9091/s/ceYx9zejC5GziHm_kr8TS8pq")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	w := utf8.RuneCountInString(lines[0])
	// Version 3 (29 modules) + 2×4 quiet zone = 37 wide, 19 lines.
	if w < 29 || len(lines) != (w+1)/2 {
		t.Errorf("terminal QR is %d wide and %d lines", w, len(lines))
	}
	for i, l := range lines {
		if utf8.RuneCountInString(l) != w {
			t.Errorf("line %d is %d wide, want %d", i, utf8.RuneCountInString(l), w)
		}
	}
	// The quiet zone is light: the first line is all full blocks.
	if strings.Trim(lines[0], "█") != "" {
		t.Errorf("first line %q, want the light quiet zone", lines[0])
	}
}
