package link

import (
	"fmt"
	"strings"
	"testing"
)

// bigTorrent is a .torrent at the size of large real ones: 50,000 files in
// 500 folders, 100,000 pieces (about 6 MB).
func bigTorrent(b *testing.B) []byte {
	b.Helper()
	const nFiles, nPieces, pl = 50_000, 100_000, 1 << 18
	var fs []any
	total := int64(nPieces-1)*pl + 1
	per := total / nFiles
	for i := 0; i < nFiles; i++ {
		l := per
		if i == nFiles-1 {
			l = total - per*(nFiles-1)
		}
		fs = append(fs, map[string]any{"length": l, "path": []any{fmt.Sprintf("folder %03d", i/100), fmt.Sprintf("file %05d.flac", i)}})
	}
	return torrentFile(b, map[string]any{"name": "big", "piece length": pl, "pieces": strings.Repeat("h", 20*nPieces), "files": fs})
}

func BenchmarkParseTorrentBig(b *testing.B) {
	t := bigTorrent(b)
	b.SetBytes(int64(len(t)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseTorrent(t); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseMagnet(b *testing.B) {
	s := "magnet:?xt=urn:btih:" + hexIH + "&dn=Some+Album+2024&tr=udp%3A%2F%2F127.0.0.1%3A6969&tr=http%3A%2F%2F127.0.0.1%3A8000%2Fannounce&x.pe=127.0.0.1:6881"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseMagnet(s); err != nil {
			b.Fatal(err)
		}
	}
}
