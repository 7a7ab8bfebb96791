package link

import (
	"bytes"
	"crypto/sha1"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

func TestParseTorrentGood(t *testing.T) {
	tests := []struct {
		name      string
		file      string // in testdata, or
		b         []byte
		wantFiles [][]string
		wantTotal int64
	}{
		{name: "mktorrent single", file: "mktorrent-single.torrent", wantFiles: [][]string{{"single.bin"}}, wantTotal: 70000},
		{name: "mktorrent multi", file: "mktorrent-multi.torrent", wantFiles: [][]string{{"album", "a.bin"}, {"album", "empty"}, {"album", "sub", "b.txt"}}, wantTotal: 140000},
		{name: "transmission multi", file: "transmission-multi.torrent", wantFiles: [][]string{{"album", "a.bin"}, {"album", "sub", "b.txt"}}, wantTotal: 140000},
		{name: "libtorrent v1", file: "libtorrent-v1only.torrent", wantFiles: [][]string{{"album", "a.bin"}, {"album", "empty"}, {"album", "sub", "b.txt"}}, wantTotal: 140000},
		// Hybrids are laid out by their v2 file tree, as anacrolix does.
		{name: "libtorrent hybrid", file: "libtorrent-hybrid.torrent", wantFiles: [][]string{{"album", "a.bin"}, {"album", "empty"}, {"album", "sub", "b.txt"}}, wantTotal: 140000},
		{name: "libtorrent hybrid single", file: "libtorrent-hybrid-single.torrent", wantFiles: [][]string{{"single.bin", "single.bin"}}, wantTotal: 70000},
		{name: "crafted multi", b: torrentFile(t, baseInfo()), wantFiles: [][]string{{"album", "a.bin"}, {"album", "sub", "b.txt"}}, wantTotal: 25000},
		{name: "crafted single", b: torrentFile(t, singleInfo()), wantFiles: [][]string{{"movie.mkv"}}, wantTotal: 1000},
		{name: "trailing newline and NUL padding", b: append(torrentFile(t, singleInfo()), "\r\n\x00\x00"...), wantFiles: [][]string{{"movie.mkv"}}, wantTotal: 1000},
		{name: "no folder name (NoName)", b: torrentFile(t, with(baseInfo(), "name", metainfo.NoName)), wantFiles: [][]string{{"a.bin"}, {"sub", "b.txt"}}, wantTotal: 25000},
		{name: "unsorted keys outside info", b: []byte("d4:infod6:lengthi1000e4:name9:movie.mkv12:piece lengthi16384e6:pieces20:" + strings.Repeat("h", 20) + "e8:announce30:http://127.0.0.1:8000/announcee"), wantFiles: [][]string{{"movie.mkv"}}, wantTotal: 1000},
		{name: "legacy path not UTF-8 but path.utf-8 given", b: torrentFile(t, with(baseInfo(), "files", []any{
			map[string]any{"length": 20000, "path": []any{"caf\xe9"}, "path.utf-8": []any{"café"}},
			map[string]any{"length": 5000, "path": []any{"b"}},
		})), wantFiles: [][]string{{"album", "café"}, {"album", "b"}}, wantTotal: 25000},
		{name: "name.utf-8 preferred", b: torrentFile(t, with(singleInfo(), "name", "m\xe9", "name.utf-8", "mé")), wantFiles: [][]string{{"mé"}}, wantTotal: 1000},
		{name: "padding files may repeat", b: torrentFile(t, with(baseInfo(), "pieces", strings.Repeat("h", 60), "files", []any{
			map[string]any{"length": 20000, "path": []any{"a"}},
			map[string]any{"length": 12768, "path": []any{".pad", "12768"}, "attr": "p"},
			map[string]any{"length": 100, "path": []any{"b"}},
			map[string]any{"length": 12768, "path": []any{".pad", "12768"}, "attr": "p"},
			map[string]any{"length": 100, "path": []any{"c"}},
		})), wantFiles: [][]string{{"album", "a"}, {"album", ".pad", "12768"}, {"album", "b"}, {"album", ".pad", "12768"}, {"album", "c"}}, wantTotal: 45736},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.b
			if tt.file != "" {
				var err error
				if b, err = os.ReadFile(filepath.Join("testdata", tt.file)); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ParseTorrent(b)
			if err != nil {
				t.Fatalf("ParseTorrent = %v, want success", err)
			}
			var paths [][]string
			for _, f := range got.Files {
				paths = append(paths, f.Path)
			}
			if !slices.EqualFunc(paths, tt.wantFiles, slices.Equal) {
				t.Errorf("Files = %q, want %q", paths, tt.wantFiles)
			}
			if got.TotalLength != tt.wantTotal {
				t.Errorf("TotalLength = %d, want %d", got.TotalLength, tt.wantTotal)
			}
			if want := got.MetaInfo.HashInfoBytes(); got.InfoHash != want {
				t.Errorf("InfoHash = %x, want %x (anacrolix)", got.InfoHash, want)
			}
			if !bytes.Equal(got.InfoBytes, got.MetaInfo.InfoBytes) {
				t.Errorf("InfoBytes differ from MetaInfo.InfoBytes")
			}
			checkInvariants(t, got)
		})
	}
}

// TestParseTorrentBuilt checks torrents made by anacrolix's own builder.
func TestParseTorrentBuilt(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, bytes.Repeat([]byte{byte(size)}, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("show/s01/e01.mkv", 300_000)
	write("show/s01/e02.mkv", 200_001)
	write("show/cover.jpg", 5_000)
	write("show/empty.nfo", 0)
	write("one.iso", 1_234_567)

	for _, tt := range []struct {
		root      string
		wantFiles [][]string
	}{
		{"show", [][]string{{"show", "cover.jpg"}, {"show", "empty.nfo"}, {"show", "s01", "e01.mkv"}, {"show", "s01", "e02.mkv"}}},
		{"one.iso", [][]string{{"one.iso"}}},
	} {
		t.Run(tt.root, func(t *testing.T) {
			var info metainfo.Info
			if err := info.BuildFromFilePath(filepath.Join(dir, tt.root)); err != nil {
				t.Fatal(err)
			}
			mi := metainfo.MetaInfo{InfoBytes: marshal(t, info), Announce: "udp://127.0.0.1:6969"}
			var buf bytes.Buffer
			if err := mi.Write(&buf); err != nil {
				t.Fatal(err)
			}
			got, err := ParseTorrent(buf.Bytes())
			if err != nil {
				t.Fatalf("ParseTorrent = %v, want success", err)
			}
			var paths [][]string
			for _, f := range got.Files {
				paths = append(paths, f.Path)
			}
			if !slices.EqualFunc(paths, tt.wantFiles, slices.Equal) {
				t.Errorf("Files = %q, want %q", paths, tt.wantFiles)
			}
			if got.TotalLength != info.TotalLength() {
				t.Errorf("TotalLength = %d, want %d", got.TotalLength, info.TotalLength())
			}
			if got.InfoHash != mi.HashInfoBytes() {
				t.Errorf("InfoHash = %x, want %x", got.InfoHash, mi.HashInfoBytes())
			}
			if !slices.Equal(got.Trackers, []string{"udp://127.0.0.1:6969"}) {
				t.Errorf("Trackers = %q, want [udp://127.0.0.1:6969]", got.Trackers)
			}
			// What the engine's storage hook does: re-encode the decoded info.
			if _, err := ValidateInfo(marshal(t, &got.Info)); err != nil {
				t.Errorf("ValidateInfo(re-encoded info) = %v, want success", err)
			}
		})
	}
}

func TestParseTorrentBad(t *testing.T) {
	good := torrentFile(t, baseInfo())
	deep := "d1:a" + strings.Repeat("l", 200) + strings.Repeat("e", 200) + "4:infod4:name1:aee"
	infoRaw := func(s string) []byte { return torrentFile(t, bencode.Bytes(s)) }
	longName := strings.Repeat("x", 256)
	var manyFiles []any
	for i := 0; i <= MaxFiles; i++ {
		manyFiles = append(manyFiles, map[string]any{"length": 0, "path": []any{fmt.Sprint(i)}})
	}
	manyFiles[0] = map[string]any{"length": 1, "path": []any{"x"}}
	var deepPath []any
	for i := 0; i < 2100; i++ {
		deepPath = append(deepPath, "a")
	}
	v2only, err := os.ReadFile("testdata/libtorrent-v2only.torrent")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		b        []byte
		sentinel error
	}{
		{"empty", nil, nil},
		{"web page", []byte("<!DOCTYPE html><html>"), nil},
		{"not a dictionary", []byte("li1ee"), nil},
		{"truncated", good[:len(good)/2], nil},
		{"truncated string length", []byte("d4:info99999:abc"), nil},
		{"trailing garbage", append(slices.Clone(good), "garbage"...), nil},
		{"two torrents concatenated", append(slices.Clone(good), good...), nil},
		{"too large", append(slices.Clone(good), repeatByte(' ', MaxTorrentSize)...), ErrTooLarge},
		{"nested too deep", []byte(deep), nil},
		{"nested 100k deep", append([]byte("d1:a"), repeatByte('l', 100_000)...), nil},
		{"integer with leading zero", []byte("d1:ai01ee"), nil},
		{"negative zero", []byte("d1:ai-0ee"), nil},
		{"integer overflow", []byte("d1:ai99999999999999999999ee"), nil},
		{"string length with leading zero", []byte("d1:a01:xe"), nil},
		{"key not a string", []byte("di1ei2ee"), nil},
		{"duplicate info key", []byte("d4:infod4:name1:ae4:infod4:name1:bee"), nil},
		{"info missing", marshal(t, map[string]any{"announce": "http://127.0.0.1/a"}), nil},
		{"info is a string", marshal(t, map[string]any{"info": "x"}), nil},
		{"field of wrong type", torrentFile(t, with(baseInfo(), "name", 5)), nil},
		{"info keys out of order", infoRaw("d4:name1:a6:lengthi1e12:piece lengthi16384e6:pieces20:" + strings.Repeat("h", 20) + "e"), nil},
		{"info duplicate key", infoRaw("d6:lengthi1e4:name1:a4:name2:..12:piece lengthi16384e6:pieces20:" + strings.Repeat("h", 20) + "e"), nil},
		{"piece length 0", torrentFile(t, with(baseInfo(), "piece length", 0)), nil},
		{"piece length negative", torrentFile(t, with(baseInfo(), "piece length", -16384)), nil},
		{"piece length missing", torrentFile(t, with(baseInfo(), "piece length", nil)), nil},
		{"piece length too small", torrentFile(t, with(baseInfo(), "piece length", 1000)), nil},
		{"piece length too large", torrentFile(t, with(singleInfo(), "piece length", 128<<20)), nil},
		{"pieces not a multiple of 20", torrentFile(t, with(baseInfo(), "pieces", strings.Repeat("h", 39))), nil},
		{"too few pieces", torrentFile(t, with(baseInfo(), "pieces", strings.Repeat("h", 20))), nil},
		{"too many pieces", torrentFile(t, with(baseInfo(), "pieces", strings.Repeat("h", 60))), nil},
		{"no pieces", torrentFile(t, with(baseInfo(), "pieces", nil)), nil},
		{"over MaxPieces", torrentFile(t, with(singleInfo(), "length", int64(MaxPieces+1)*16384, "pieces", strings.Repeat("h", 20*(MaxPieces+1)))), ErrTooLarge},
		{"negative file length", torrentFile(t, with(baseInfo(), "files", files([]string{"a"}, 30000, []string{"b"}, -5000))), nil},
		{"negative single length", torrentFile(t, with(singleInfo(), "length", -1)), nil},
		{"zero length", torrentFile(t, with(singleInfo(), "length", 0, "pieces", "")), nil},
		{"all files empty", torrentFile(t, with(baseInfo(), "pieces", "", "files", files([]string{"a"}, 0, []string{"b"}, 0))), nil},
		{"length and files", torrentFile(t, with(baseInfo(), "length", 25000)), nil},
		{"empty file list", torrentFile(t, with(baseInfo(), "files", []any{})), nil},
		{"too many files", torrentFile(t, with(baseInfo(), "pieces", strings.Repeat("h", 20), "files", manyFiles)), ErrTooLarge},
		{"total overflows", torrentFile(t, with(baseInfo(), "files", files([]string{"a"}, int64(1<<62), []string{"b"}, int64(1<<62)))), ErrTooLarge},
		{"no name", torrentFile(t, with(baseInfo(), "name", "")), nil},
		{"name ..", torrentFile(t, with(baseInfo(), "name", "..")), ErrUnsafePath},
		{"name .", torrentFile(t, with(baseInfo(), "name", ".")), ErrUnsafePath},
		{"name absolute", torrentFile(t, with(singleInfo(), "name", "/etc/passwd")), ErrUnsafePath},
		{"name with slash", torrentFile(t, with(baseInfo(), "name", "a/../../b")), ErrUnsafePath},
		{"name with backslash", torrentFile(t, with(baseInfo(), "name", `..\..\b`)), ErrUnsafePath},
		{"name with NUL", torrentFile(t, with(singleInfo(), "name", "a\x00.mkv")), ErrUnsafePath},
		{"name too long", torrentFile(t, with(singleInfo(), "name", longName)), ErrUnsafePath},
		{"name not UTF-8", torrentFile(t, with(singleInfo(), "name", "m\xe9")), ErrUnsafePath},
		{"name.utf-8 ..", torrentFile(t, with(baseInfo(), "name.utf-8", "..")), ErrUnsafePath},
		{"legacy name .. behind a good name.utf-8", torrentFile(t, with(baseInfo(), "name", "..", "name.utf-8", "album")), ErrUnsafePath},
		{"single file named -", torrentFile(t, with(singleInfo(), "name", "-")), nil},
		{"path ../", torrentFile(t, with(baseInfo(), "files", files([]string{"..", "..", "etc", "passwd"}, 20000, []string{"b"}, 5000))), ErrUnsafePath},
		{"path component with ../", torrentFile(t, with(baseInfo(), "files", files([]string{"../../x"}, 20000, []string{"b"}, 5000))), ErrUnsafePath},
		{"absolute path", torrentFile(t, with(baseInfo(), "files", files([]string{"/etc/cron.d/x"}, 20000, []string{"b"}, 5000))), ErrUnsafePath},
		{"windows drive path", torrentFile(t, with(baseInfo(), "files", files([]string{`C:\Windows\x`}, 20000, []string{"b"}, 5000))), ErrUnsafePath},
		{"NUL in path", torrentFile(t, with(baseInfo(), "files", files([]string{"a\x00b"}, 20000, []string{"b"}, 5000))), ErrUnsafePath},
		{"newline in path", torrentFile(t, with(baseInfo(), "files", files([]string{"a\nb"}, 20000, []string{"b"}, 5000))), ErrUnsafePath},
		{"empty component", torrentFile(t, with(baseInfo(), "files", files([]string{"a", "", "b"}, 20000, []string{"b"}, 5000))), ErrUnsafePath},
		{"empty path", torrentFile(t, with(baseInfo(), "files", files([]string{}, 20000, []string{"b"}, 5000))), ErrUnsafePath},
		{"path too long", torrentFile(t, with(baseInfo(), "files", []any{map[string]any{"length": 20000, "path": deepPath}, map[string]any{"length": 5000, "path": []any{"b"}}})), ErrUnsafePath},
		{"path not UTF-8", torrentFile(t, with(baseInfo(), "files", files([]string{"caf\xe9"}, 20000, []string{"b"}, 5000))), ErrUnsafePath},
		{"path.utf-8 ..", torrentFile(t, with(baseInfo(), "files", []any{map[string]any{"length": 20000, "path": []any{"a"}, "path.utf-8": []any{".."}}, map[string]any{"length": 5000, "path": []any{"b"}}})), ErrUnsafePath},
		{"legacy path .. behind a good path.utf-8", torrentFile(t, with(baseInfo(), "files", []any{map[string]any{"length": 20000, "path": []any{".."}, "path.utf-8": []any{"a"}}, map[string]any{"length": 5000, "path": []any{"b"}}})), ErrUnsafePath},
		{"symlink out", torrentFile(t, with(baseInfo(), "files", []any{map[string]any{"length": 20000, "path": []any{"a"}}, map[string]any{"length": 5000, "path": []any{"b"}, "attr": "l", "symlink path": []any{"..", "..", "etc"}}})), ErrUnsafePath},
		{"two files at one path", torrentFile(t, with(baseInfo(), "files", files([]string{"a"}, 20000, []string{"a"}, 5000))), ErrUnsafePath},
		{"file where a folder is needed", torrentFile(t, with(baseInfo(), "files", files([]string{"a"}, 20000, []string{"a-x"}, 0, []string{"a", "b"}, 5000))), ErrUnsafePath},
		{"v2-only (libtorrent)", v2only, ErrV2Only},
		{"v2-only (crafted)", torrentFile(t, map[string]any{"name": "x", "piece length": 16384, "meta version": 2, "file tree": map[string]any{"x": map[string]any{"": map[string]any{"length": 10, "pieces root": strings.Repeat("r", 32)}}}}), ErrV2Only},
		{"unknown meta version", torrentFile(t, with(baseInfo(), "meta version", 3)), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTorrent(tt.b)
			if err == nil {
				t.Fatalf("ParseTorrent = %d files, nil error; want an error", len(got.Files))
			}
			wantErr(t, "ParseTorrent", err, tt.sentinel)
			t.Logf("%v", err)
		})
	}
}

// TestParseTorrentHybridTampered changes a real libtorrent hybrid torrent in
// ways that make its v1 and v2 halves disagree; anacrolix would lay out
// storage by one and index hashes by the other (and panic slicing pieces).
func TestParseTorrentHybridTampered(t *testing.T) {
	b, err := os.ReadFile("testdata/libtorrent-hybrid.torrent")
	if err != nil {
		t.Fatal(err)
	}
	mi, err := metainfo.Load(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	if err := bencode.Unmarshal(mi.InfoBytes, &info); err != nil {
		t.Fatal(err)
	}
	album := info["file tree"].(map[string]any) // rooted at the name, "album"
	leaf := func(length int64, root string) map[string]any {
		return map[string]any{"": map[string]any{"length": length, "pieces root": root}}
	}
	aRoot := album["a.bin"].(map[string]any)[""].(map[string]any)["pieces root"].(string)
	tests := []struct {
		name string
		mod  func(info map[string]any)
	}{
		{"tree file renamed", func(info map[string]any) {
			info["file tree"] = with(album, "a.bin", nil, "z.bin", album["a.bin"])
		}},
		{"tree file ..", func(info map[string]any) {
			info["file tree"] = with(album, "..", album["a.bin"])
		}},
		{"tree file with slash", func(info map[string]any) {
			info["file tree"] = with(album, "a.bin", nil, "../a.bin", album["a.bin"])
		}},
		{"tree length changed", func(info map[string]any) {
			info["file tree"] = with(album, "a.bin", leaf(99999, aRoot))
		}},
		{"tree negative length", func(info map[string]any) {
			info["file tree"] = with(album, "a.bin", leaf(-1, aRoot))
		}},
		{"short pieces root", func(info map[string]any) {
			info["file tree"] = with(album, "a.bin", leaf(100000, "short"))
		}},
		{"missing pieces root", func(info map[string]any) {
			info["file tree"] = with(album, "a.bin", map[string]any{"": map[string]any{"length": 100000}})
		}},
		{"extra tree file", func(info map[string]any) {
			info["file tree"] = with(album, "extra", leaf(5, strings.Repeat("r", 32)))
		}},
		{"node both file and folder", func(info map[string]any) {
			info["file tree"] = with(album, "sub", with(album["sub"].(map[string]any), "", map[string]any{"length": 5}))
		}},
		{"piece length not a power of two", func(info map[string]any) { info["piece length"] = 3 * 16384 }},
		{"fewer v1 hashes", func(info map[string]any) {
			info["pieces"] = info["pieces"].(string)[:len(info["pieces"].(string))-20]
		}},
		{"empty tree", func(info map[string]any) { info["file tree"] = map[string]any{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mod := with(info)
			tt.mod(mod)
			_, err := ParseTorrent(torrentFile(t, mod))
			wantErr(t, "ParseTorrent", err, nil)
			t.Logf("%v", err)
		})
	}
	// The unchanged dictionary, re-encoded, is still fine.
	if _, err := ParseTorrent(torrentFile(t, info)); err != nil {
		t.Errorf("ParseTorrent(unchanged hybrid) = %v, want success", err)
	}
}

func TestValidateInfo(t *testing.T) {
	good := marshal(t, baseInfo())
	got, err := ValidateInfo(good)
	if err != nil {
		t.Fatalf("ValidateInfo(good) = %v", err)
	}
	if got.InfoHash != sha1.Sum(good) {
		t.Errorf("InfoHash = %x, want %x", got.InfoHash, sha1.Sum(good))
	}
	if got.MetaInfo == nil || !bytes.Equal(got.MetaInfo.InfoBytes, good) {
		t.Errorf("MetaInfo.InfoBytes not set to the info")
	}
	checkInvariants(t, got)

	for _, tt := range []struct {
		name     string
		b        []byte
		sentinel error
	}{
		{"empty", nil, nil},
		{"trailing byte", append(slices.Clone(good), 'e'), nil},
		{"trailing newline", append(slices.Clone(good), '\n'), nil}, // metadata is exact
		{"list", []byte("le"), nil},
		{"too large", append([]byte("d"), repeatByte('x', MaxTorrentSize)...), ErrTooLarge},
		{"deep", append([]byte("d1:a"), repeatByte('l', 1<<20)...), nil},
		{"file tree work", deepTree(90, 400_000), nil},
		{"unsafe path", marshal(t, with(baseInfo(), "files", files([]string{".."}, 20000, []string{"b"}, 5000))), ErrUnsafePath},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ValidateInfo(tt.b)
			wantErr(t, "ValidateInfo", err, tt.sentinel)
			t.Logf("%v", err)
		})
	}
}

// deepTree is an info dictionary whose file tree nests depth folders above
// a leaf padded to size bytes: anacrolix's FileTree decoder copies the
// whole subtree once per level (depth × size bytes).
func deepTree(depth, size int) []byte {
	var b strings.Builder
	b.WriteString("d9:file tree")
	for i := 0; i < depth; i++ {
		b.WriteString("d1:a")
	}
	pad := strings.Repeat("x", size)
	fmt.Fprintf(&b, "d0:d6:lengthi1e1:p%d:%see", len(pad), pad)
	b.WriteString(strings.Repeat("e", depth))
	b.WriteString("12:meta versioni2e4:name1:a12:piece lengthi16384e6:pieces20:" + strings.Repeat("h", 20) + "e")
	return []byte(b.String())
}

// checkInvariants holds for every torrent this package accepts: it is what
// the fuzz targets check too. It also runs the anacrolix helpers that panic
// on inconsistent infos.
func checkInvariants(t testing.TB, tor *Torrent) {
	t.Helper()
	if tor.InfoHash != sha1.Sum(tor.InfoBytes) {
		t.Fatalf("InfoHash is not the SHA-1 of InfoBytes")
	}
	if tor.TotalLength <= 0 || len(tor.Files) == 0 || len(tor.Files) > MaxFiles {
		t.Fatalf("TotalLength %d, %d files", tor.TotalLength, len(tor.Files))
	}
	var sum int64
	for _, f := range tor.Files {
		if err := SafePath(f.Path); err != nil {
			t.Fatalf("accepted file path fails SafePath: %v", err)
		}
		if f.Length < 0 || f.Offset < 0 {
			t.Fatalf("file %q: length %d offset %d", f.Path, f.Length, f.Offset)
		}
		sum += f.Length
	}
	if sum != tor.TotalLength {
		t.Fatalf("sum of file lengths %d != TotalLength %d", sum, tor.TotalLength)
	}
	if err := SafePath([]string{tor.Info.BestName()}); err != nil {
		t.Fatalf("accepted name fails SafePath: %v", err)
	}
	info := &tor.Info
	if n := len(slices.Collect(info.UpvertedFilesIter())); n != len(tor.Files) {
		t.Fatalf("%d files, anacrolix has %d", len(tor.Files), n)
	}
	if info.TotalLength() != tor.TotalLength {
		t.Fatalf("TotalLength %d, anacrolix says %d", tor.TotalLength, info.TotalLength())
	}
	np := info.NumPieces()
	if np != len(info.Pieces)/20 || np > MaxPieces {
		t.Fatalf("NumPieces %d, %d hashes", np, len(info.Pieces)/20)
	}
	var pieces int64
	for i := 0; i < np; i++ {
		p := info.Piece(i)
		l := p.Length()
		if l <= 0 || l > info.PieceLength {
			t.Fatalf("piece %d length %d", i, l)
		}
		pieces += l
		p.V1Hash()
	}
	_ = info.FileSegmentsIndex()
	if !info.HasV2() && pieces != tor.TotalLength {
		t.Fatalf("pieces cover %d bytes, files %d", pieces, tor.TotalLength)
	}
}
