package sharepage

import (
	"archive/zip"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// tailWriter keeps the total length and the last bytes written.
type tailWriter struct {
	h    http.Header
	n    int64
	tail []byte
}

func (w *tailWriter) Header() http.Header { return w.h }
func (w *tailWriter) WriteHeader(int)     {}
func (w *tailWriter) Write(b []byte) (int, error) {
	w.n += int64(len(b))
	w.tail = append(w.tail, b...)
	if len(w.tail) > 1<<20 {
		w.tail = append(w.tail[:0], w.tail[len(w.tail)-(64<<10):]...)
	}
	return len(b), nil
}

// ReadAt serves the tail; the zip reader only reads the directory there.
func (w *tailWriter) ReadAt(p []byte, off int64) (int, error) {
	start := w.n - int64(len(w.tail))
	if off < start {
		clear(p)
		return len(p), nil
	}
	return copy(p, w.tail[off-start:]), nil
}

// TestZip64: a file over 4 GiB (sparse) goes into the streamed zip with
// zip64 records: the central directory read back has its true size.
func TestZip64(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 4.1 GiB of a sparse file")
	}
	e := newEnv(t)
	s := e.channel("big", map[string][]byte{"small.jpg": []byte("abc")})
	const size = 4<<30 + 12345
	f, err := os.Create(filepath.Join(e.ch["big"], "film.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Skipf("no sparse file: %v", err)
	}
	f.Close()
	h := NewHandler(Options{Shares: e.shares, Channels: e.ch})
	w := &tailWriter{h: http.Header{}}
	h.ServeHTTP(w, httptest.NewRequest("GET", "/s/"+s.Token+"/all.zip", nil))
	zr, err := zip.NewReader(w, w.n)
	if err != nil {
		t.Fatalf("read zip directory (%d bytes written): %v", w.n, err)
	}
	got := map[string]uint64{}
	for _, f := range zr.File {
		got[f.Name] = f.UncompressedSize64
	}
	if got["film.mp4"] != size || got["small.jpg"] != 3 || w.n < size {
		t.Errorf("zip entries %v, %d bytes; want film.mp4 %d and small.jpg 3", got, w.n, int64(size))
	}
}
