package channel

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// memFile makes a vfile of content with piece length pl.
func memFile(path string, content []byte, pl int64) vfile {
	f := vfile{Path: strings.Split(path, "/"), Length: int64(len(content)), SHA256: sha256.Sum256(content)}
	for off := int64(0); off < f.Length; off += pl {
		piece := make([]byte, pl)
		copy(piece, content[off:])
		h := sha1.Sum(piece)
		f.Pieces = append(f.Pieces, h[:]...)
	}
	return f
}

func TestBuildParseVersion(t *testing.T) {
	const pl = 16 << 10
	a := bytes.Repeat([]byte{1}, 40_000)
	b := bytes.Repeat([]byte{2}, pl) // exactly one piece: no padding
	c := []byte("small")
	v, err := buildInfo(pl, []vfile{memFile("z/c.jpg", c, pl), memFile("a.jpg", a, pl), memFile("b.mp4", b, pl)})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range v.Files {
		paths = append(paths, f.pathString())
	}
	if got := strings.Join(paths, " "); got != "a.jpg b.mp4 z/c.jpg" {
		t.Errorf("files = %s, want sorted by path", got)
	}
	if v.Bytes != int64(len(a)+len(b)+len(c)) || v.NumPieces != 3+1+1 {
		t.Errorf("version = %d bytes, %d pieces; want %d and 5", v.Bytes, v.NumPieces, len(a)+len(b)+len(c))
	}
	// Offsets: a at 0 (3 pieces), b at piece 3, c at piece 4.
	for i, want := range []int{0, 3, 4} {
		if v.Files[i].FirstPiece != want {
			t.Errorf("file %s first piece = %d, want %d", paths[i], v.Files[i].FirstPiece, want)
		}
	}
	// The same file hashes the same wherever it is: a version with a new
	// file in front keeps c's piece hashes.
	v2, err := buildInfo(pl, []vfile{memFile("0.jpg", a, pl), memFile("z/c.jpg", c, pl)})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(v2.Files[1].Pieces, v.Files[2].Pieces) {
		t.Error("z/c.jpg has other piece hashes in another version")
	}
	// The info is what anacrolix reads: pads are BEP 47 files.
	var info metainfo.Info
	if err := bencode.Unmarshal(v.InfoBytes, &info); err != nil {
		t.Fatal(err)
	}
	if info.Name != metainfo.NoName || len(info.Files) != 5 || info.Files[1].Attr != "p" || strings.Join(info.Files[1].Path, "/") != ".pad/9152" {
		t.Errorf("info files = %+v", info.Files)
	}
	if info.TotalLength() != int64(v.NumPieces)*pl {
		t.Errorf("total length %d, want whole pieces (%d)", info.TotalLength(), int64(v.NumPieces)*pl)
	}

	if _, err := buildInfo(pl, nil); err == nil {
		t.Error("buildInfo(no files) succeeded")
	}
	if _, err := buildInfo(pl, []vfile{memFile("a", a, pl), memFile("a", b, pl)}); err == nil {
		t.Error("buildInfo(two files at one path) succeeded")
	}
}

// TestParseVersionRejects: whatever a publisher (or whoever holds its
// key) puts in a version torrent, a subscriber accepts only the layout
// above, with safe names.
func TestParseVersionRejects(t *testing.T) {
	const pl = 16 << 10
	good := infoDict{
		Name: metainfo.NoName, PieceLength: pl, Hearth: infoExt{Version: 1, SHA256: make([]byte, 64)},
		Files: []infoFile{
			{Length: 100, Path: []string{"a.jpg"}}, {Attr: "p", Length: pl - 100, Path: []string{".pad", "16284"}},
			{Length: pl, Path: []string{"b.jpg"}},
		},
		Pieces: make([]byte, 40),
	}
	enc := func(d infoDict) []byte {
		b, err := bencode.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if _, err := parseVersion(enc(good)); err != nil {
		t.Fatalf("parseVersion(good) = %v", err)
	}
	tests := []struct {
		name   string
		change func(d *infoDict)
		want   string
	}{
		{"escaping path", func(d *infoDict) { d.Files[0].Path = []string{"..", "etc", "passwd"} }, "unsafe file path"},
		{"absolute path", func(d *infoDict) { d.Files[2].Path = []string{"/etc/passwd"} }, "unsafe file path"},
		{"top folder", func(d *infoDict) { d.Name = "photos" }, "want \"-\""},
		{"no manifest", func(d *infoDict) { d.Hearth = infoExt{} }, "manifest version 0"},
		{"manifest short", func(d *infoDict) { d.Hearth.SHA256 = d.Hearth.SHA256[:32] }, "fewer checksums"},
		{"manifest long", func(d *infoDict) { d.Hearth.SHA256 = make([]byte, 96) }, "more checksums"},
		{"no padding", func(d *infoDict) { d.Files = append(d.Files[:1], d.Files[2:]...); d.Pieces = d.Pieces[:20+20] }, "padding"},
		{"wrong padding", func(d *infoDict) { d.Files[1].Path = []string{".pad", "1"} }, "padding"},
		{"pad not a pad", func(d *infoDict) { d.Files[1].Attr = "" }, "not followed by its padding"},
		{"file in .pad", func(d *infoDict) { d.Files[2].Path = []string{".pad", "x"} }, "not a file of a channel"},
		{"file in tmp", func(d *infoDict) { d.Files[2].Path = []string{tmpDir, "x"} }, "not a file of a channel"},
		{"empty file", func(d *infoDict) {
			d.Files = append([]infoFile{{Length: 0, Path: []string{"0"}}}, d.Files...)
			d.Hearth.SHA256 = make([]byte, 96)
		}, "empty"},
		{"odd piece length", func(d *infoDict) { d.PieceLength = 3 * pl; d.Pieces = d.Pieces[:20] }, "power of two"},
		{"piece hashes", func(d *infoDict) { d.Pieces = d.Pieces[:20] }, "hashes for 1 pieces"},
	}
	for _, tt := range tests {
		d := good
		d.Files = append([]infoFile(nil), good.Files...)
		d.Hearth.SHA256 = append([]byte(nil), good.Hearth.SHA256...)
		tt.change(&d)
		_, err := parseVersion(enc(d))
		if err == nil || !errors.Is(err, ErrBadVersion) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: parseVersion = %v, want ErrBadVersion with %q", tt.name, err, tt.want)
		}
	}
}

func TestHashFile(t *testing.T) {
	const pl = 16 << 10
	for _, size := range []int{1, pl - 1, pl, pl + 1, 3*pl + 5} {
		content := bytes.Repeat([]byte("x1"), size)[:size]
		p := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
		sum, pieces, n, err := hashFile(p, pl)
		want := memFile("f", content, pl)
		if err != nil || n != int64(size) || sum != want.SHA256 || !bytes.Equal(pieces, want.Pieces) {
			t.Errorf("hashFile(%d bytes) = %d bytes, %d piece hash bytes, %v; want %d, %d", size, n, len(pieces), err, size, len(want.Pieces))
		}
	}
}

func TestPiecesFor(t *testing.T) {
	tests := []struct{ cur, total, want int64 }{
		{DefaultPieceLength, 1 << 30, DefaultPieceLength},
		{DefaultPieceLength, 8 << 30, DefaultPieceLength},
		{DefaultPieceLength, 9 << 30, 512 << 10},
		{DefaultPieceLength, 64 << 30, 2 << 20},
		{4 << 20, 1 << 20, 4 << 20}, // never shrinks
		{32 << 10, 1 << 20, 32 << 10},
		{DefaultPieceLength, 1 << 50, maxPieceLength},
	}
	for _, tt := range tests {
		if got := piecesFor(tt.cur, tt.total); got != tt.want {
			t.Errorf("piecesFor(%d, %d) = %d, want %d", tt.cur, tt.total, got, tt.want)
		}
	}
}

// TestPlanUpdate: unchanged, moved and duplicated content is reused
// from the previous version's complete files, everything else is
// downloaded; the new items are the content the old version lacked.
func TestPlanUpdate(t *testing.T) {
	const pl = 16 << 10
	data := func(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }
	old, err := buildInfo(pl, []vfile{
		memFile("keep.jpg", data(1, 20_000), pl), memFile("move.jpg", data(2, 5_000), pl),
		memFile("gone.jpg", data(3, 7_000), pl), memFile("partial.jpg", data(4, 9_000), pl),
	})
	if err != nil {
		t.Fatal(err)
	}
	complete := map[int]bool{}
	for _, f := range old.Files {
		complete[f.Index] = f.pathString() != "partial.jpg"
	}
	nv, err := buildInfo(pl, []vfile{
		memFile("keep.jpg", data(1, 20_000), pl), memFile("album/moved.jpg", data(2, 5_000), pl),
		memFile("copy-of-keep.jpg", data(1, 20_000), pl), memFile("partial.jpg", data(4, 9_000), pl),
		memFile("new.jpg", data(5, 1_000), pl),
	})
	if err != nil {
		t.Fatal(err)
	}
	u := planUpdate(old, complete, nv)
	from := map[string]string{}
	for _, e := range u.entries {
		from[e.f.pathString()] = e.from
	}
	want := map[string]string{
		"keep.jpg": "keep.jpg", "album/moved.jpg": "move.jpg", "copy-of-keep.jpg": "keep.jpg",
		"partial.jpg": "", "new.jpg": "",
	}
	for p, w := range want {
		if from[p] != w {
			t.Errorf("%s comes from %q, want %q", p, from[p], w)
		}
	}
	if u.newFiles != 1 || u.newBytes != 1_000 || strings.Join(u.newPaths, ",") != "new.jpg" {
		t.Errorf("new = %d files, %d bytes, %v; want new.jpg only", u.newFiles, u.newBytes, u.newPaths)
	}
	if strings.Join(u.removed, ",") != "gone.jpg" || strings.Join(u.moved, ",") != "move.jpg" {
		t.Errorf("removed %v, moved %v; want gone.jpg and move.jpg", u.removed, u.moved)
	}

	// Applied to a folder holding the old version: reused files are in
	// place and their pieces verified; the old path of a moved file goes,
	// a removed file stays (keepRemoved), the partial file is left to the
	// engine.
	dir := t.TempDir()
	for _, f := range []struct {
		p string
		b []byte
	}{{"keep.jpg", data(1, 20_000)}, {"move.jpg", data(2, 5_000)}, {"gone.jpg", data(3, 7_000)}, {"partial.jpg", data(4, 100)}} {
		if err := os.WriteFile(filepath.Join(dir, f.p), f.b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	verified, err := u.apply(dir, nv, true)
	if err != nil {
		t.Fatal(err)
	}
	var wantPieces []int
	for _, f := range nv.Files {
		if want[f.pathString()] != "" {
			for i := range f.numPieces(pl) {
				wantPieces = append(wantPieces, f.FirstPiece+i)
			}
		}
	}
	slices.Sort(wantPieces)
	if !slices.Equal(verified, wantPieces) {
		t.Errorf("verified pieces = %v, want %v", verified, wantPieces)
	}
	for p, wantThere := range map[string]bool{
		"keep.jpg": true, "album/moved.jpg": true, "copy-of-keep.jpg": true, "move.jpg": false,
		"gone.jpg": true, tmpDir: false, ".pad/" + "12768": true,
	} {
		_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p)))
		if (err == nil) != wantThere {
			t.Errorf("%s exists = %v, want %v", p, err == nil, wantThere)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "album", "moved.jpg")); !bytes.Equal(b, data(2, 5_000)) {
		t.Error("album/moved.jpg does not hold the moved content")
	}
}
