package sharepage

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strconv"
	"sync"
)

// iconPNG is the page's icon: a 32x32 orange tile with a white roof.
// Without one a browser asks the device for /favicon.ico, which the
// control API answers with an error that shows in the console; the page's
// CSP (img-src 'self') rules out a data: icon.
var iconPNG = sync.OnceValue(func() []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 32, 32))
	orange, white := color.NRGBA{0xd9, 0x82, 0x2b, 0xff}, color.NRGBA{0xff, 0xff, 0xff, 0xff}
	for y := range 32 {
		for x := range 32 {
			c := orange
			// A roof (triangle) over a square: a house.
			if (y >= 6 && y < 16 && x >= 16-(y-6) && x < 16+(y-6)) || (y >= 16 && y < 26 && x >= 9 && x < 23) {
				c = white
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
})

func (h *handler) icon(w http.ResponseWriter, r *http.Request) {
	b := iconPNG()
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=86400")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method == http.MethodGet {
		w.Write(b)
	}
}
