package channel

import (
	"bytes"
	"slices"
	"testing"
)

// FuzzParseVersion feeds info dictionaries to parseVersion, the check a
// subscriber runs on the torrent a channel item points at (bytes from
// whoever answers the metadata request). It must never panic, and what
// it accepts must be a version Hearth could have made: files on piece
// boundaries whose pieces lie inside the piece list, sizes that add up,
// and the same files built again give the same version.
func FuzzParseVersion(f *testing.F) {
	const pl = 16 << 10
	seeds := [][]vfile{
		{memFile("a.jpg", bytes.Repeat([]byte{1}, 40_000), pl)},
		{memFile("z/c.jpg", []byte("small"), pl), memFile("b.mp4", bytes.Repeat([]byte{2}, pl), pl), memFile("a.jpg", []byte("x"), pl)},
		{memFile("Fotos/2026/ä ö.jpg", bytes.Repeat([]byte{3}, 3*pl+1), pl)},
	}
	for _, files := range seeds {
		v, err := buildInfo(pl, files)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(v.InfoBytes)
	}
	f.Add([]byte("d5:filesle6:hearthd6:sha2560:1:vi1ee4:name1:-12:piece lengthi16384e6:pieces0:e"))
	f.Add([]byte("d6:lengthi5e4:name1:a12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaae"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := parseVersion(b)
		if err != nil {
			return
		}
		if v.PieceLength <= 0 || v.PieceLength&(v.PieceLength-1) != 0 || len(v.Files) == 0 {
			t.Fatalf("accepted piece length %d with %d files", v.PieceLength, len(v.Files))
		}
		var total int64
		next := 0 // first piece not yet used by a file
		for _, fl := range v.Files {
			n := fl.numPieces(v.PieceLength)
			if fl.Length <= 0 || fl.FirstPiece < next || fl.FirstPiece+n > v.NumPieces || len(fl.Pieces) != 20*n {
				t.Fatalf("file %q: length %d, pieces %d..%d (%d hash bytes) of %d, after piece %d", fl.pathString(), fl.Length, fl.FirstPiece, fl.FirstPiece+n, len(fl.Pieces), v.NumPieces, next)
			}
			next = fl.FirstPiece + n
			total += fl.Length
		}
		if total != v.Bytes {
			t.Fatalf("files add up to %d bytes, version says %d", total, v.Bytes)
		}
		// The same files, built again, make a version with the same
		// files (the bytes may differ: other keys, another order).
		sorted := slices.IsSortedFunc(v.Files, func(a, b vfile) int { return slices.Compare(a.Path, b.Path) })
		if !sorted {
			return
		}
		w, err := buildInfo(v.PieceLength, v.Files)
		if err != nil {
			// Paths buildInfo refuses (duplicates) are refused at publish.
			return
		}
		if len(w.Files) != len(v.Files) || w.Bytes != v.Bytes {
			t.Fatalf("rebuilt version has %d files, %d bytes; parsed %d, %d", len(w.Files), w.Bytes, len(v.Files), v.Bytes)
		}
		for i := range w.Files {
			a, c := v.Files[i], w.Files[i]
			if !slices.Equal(a.Path, c.Path) || a.Length != c.Length || a.SHA256 != c.SHA256 || !bytes.Equal(a.Pieces, c.Pieces) || a.FirstPiece != c.FirstPiece {
				t.Fatalf("file %d: parsed %q %d bytes first piece %d, rebuilt %q %d bytes first piece %d", i, a.pathString(), a.Length, a.FirstPiece, c.pathString(), c.Length, c.FirstPiece)
			}
		}
	})
}
