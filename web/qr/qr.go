// Package qr draws QR codes of links: a PNG for pages and the API, and
// half-block characters for a terminal. The encoder is
// github.com/skip2/go-qrcode (MIT, no dependencies).
package qr

import (
	"fmt"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// MaxText bounds what is encoded: links, not documents.
const MaxText = 1024

// PNG returns a PNG of text's QR code, size pixels wide (with the quiet
// zone), error correction level M.
func PNG(text string, size int) ([]byte, error) {
	if len(text) > MaxText {
		return nil, fmt.Errorf("qr: text longer than %d bytes", MaxText)
	}
	b, err := qrcode.Encode(text, qrcode.Medium, size)
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	return b, nil
}

// Terminal draws text's QR code with Unicode half blocks, two modules
// per character cell, dark on light whatever the terminal's colours
// (the light modules are drawn, the dark ones left as spaces would
// invert on a light theme, so both are drawn explicitly).
func Terminal(text string) (string, error) {
	if len(text) > MaxText {
		return "", fmt.Errorf("qr: text longer than %d bytes", MaxText)
	}
	q, err := qrcode.New(text, qrcode.Low)
	if err != nil {
		return "", fmt.Errorf("qr: %w", err)
	}
	bm := q.Bitmap() // true = dark, with a 4-module quiet zone
	var b strings.Builder
	for y := 0; y < len(bm); y += 2 {
		for x := range bm[y] {
			top := bm[y][x]
			bottom := false
			if y+1 < len(bm) {
				bottom = bm[y+1][x]
			}
			switch {
			case top && bottom:
				b.WriteRune(' ')
			case top:
				b.WriteRune('▄')
			case bottom:
				b.WriteRune('▀')
			default:
				b.WriteRune('█')
			}
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}
