package link

import (
	"crypto/sha1"
	"maps"
	"slices"
	"strings"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// Torrent limits, sized for devices with 64–128 MB of RAM. A .torrent with
// 100,000 files or 524,288 pieces is already rare; a 4 GiB torrent in 16 KiB
// pieces has 262,144.
const (
	MaxTorrentSize = 16 << 20 // bytes in a .torrent file or an info dictionary (anacrolix's own metadata limit)
	MaxFiles       = 100_000
	MaxPieces      = 1 << 19 // 10 MiB of piece hashes
	// MinPieceLength is the smallest piece every mainstream creator makes
	// (libtorrent, qBittorrent, anacrolix's ChoosePieceLength) and the block
	// size of the wire protocol.
	MinPieceLength = 16 << 10
	// MaxPieceLength matches anacrolix's default MaxUnverifiedBytes (64 MiB):
	// a larger piece could never be held unverified, and is a lot of memory
	// to hash on a small device.
	MaxPieceLength = 64 << 20

	maxTotalLength = MaxPieces * MaxPieceLength // no valid torrent is larger
)

// File is one file of a torrent as storage lays it out.
type File struct {
	// Path is where the file lands relative to the download directory: the
	// torrent's name (unless it is metainfo.NoName, "-") then the file's
	// path inside the torrent, the way anacrolix's file storage joins
	// Info.BestName and FileInfo.BestPath. It passes SafePath.
	Path   []string
	Length int64
	Offset int64 // in the torrent's data; piece-aligned for hybrid torrents
	Pad    bool  // a BEP 47 padding file
}

// Torrent is a checked torrent: a v1 or hybrid (v1+v2) info dictionary, and
// for ParseTorrent the .torrent file around it.
type Torrent struct {
	// MetaInfo is the decoded .torrent file. For ValidateInfo it holds only
	// InfoBytes.
	MetaInfo  *metainfo.MetaInfo
	Info      metainfo.Info
	InfoHash  [20]byte // v1: SHA-1 of InfoBytes
	InfoBytes []byte
	// Files are in the order of Info.UpvertedFiles, so indexes match
	// anacrolix's: for a hybrid torrent that is the v2 file tree.
	Files       []File
	TotalLength int64 // sum of Files' lengths, padding included
	// Trackers are the valid http, https and udp announce URLs of
	// announce-list (or announce), in order, without duplicates, at most
	// MaxTrackers. Add these, not MetaInfo's lists.
	Trackers []string
}

// ParseTorrent parses and checks a .torrent file. Besides everything
// ValidateInfo checks, the file must be a bencode dictionary of at most
// MaxTorrentSize bytes with an "info" dictionary; after it only whitespace
// and NUL padding may follow (some servers pad downloads; the infohash
// covers only the info dictionary, so padding changes nothing). Keys outside
// the info dictionary may be unsorted but not duplicated.
func ParseTorrent(b []byte) (*Torrent, error) {
	switch {
	case len(b) == 0:
		return nil, inputErr(nil, "torrent file is empty")
	case len(b) > MaxTorrentSize:
		return nil, inputErr(ErrTooLarge, "torrent file is larger than %d MiB", MaxTorrentSize>>20)
	case b[0] == '<':
		return nil, inputErr(nil, "not a .torrent file: it looks like a web page")
	case b[0] != 'd':
		return nil, inputErr(nil, "not a .torrent file: it does not start with a bencode dictionary")
	}
	end, err := scanValue(b, false)
	if err != nil {
		return nil, inputErr(nil, "torrent file is not valid bencode: %v", err)
	}
	if n := len(strings.TrimRight(string(b[end:]), " \t\r\n\x00")); n > 0 {
		return nil, inputErr(nil, "torrent file has %d bytes of unexpected data after its end", n)
	}
	var mi metainfo.MetaInfo
	if err := bencode.Unmarshal(b[:end], &mi); err != nil {
		return nil, inputErr(nil, "torrent file has a field of the wrong type: %v", err)
	}
	if len(mi.InfoBytes) == 0 {
		return nil, inputErr(nil, "torrent file has no \"info\" dictionary")
	}
	t, err := ValidateInfo(mi.InfoBytes)
	if err != nil {
		return nil, err
	}
	t.MetaInfo = &mi
	t.Trackers = torrentTrackers(&mi)
	return t, nil
}

// ValidateInfo checks an info dictionary, such as metadata fetched from peers
// for a magnet link; the engine calls it before storage creates any file and
// drops the torrent with its error. Checked: canonical bencode (sorted,
// unique keys; bounded nesting) and nothing after it; BitTorrent v1 or
// hybrid, not v2-only (ErrV2Only); a piece length between MinPieceLength and
// MaxPieceLength (a power of two for hybrids, as BEP 52 requires); exactly
// the piece hashes the files need; either one length or a non-empty file
// list; no negative lengths and some data; at most MaxFiles files and
// MaxPieces pieces; every name and path (also name.utf-8, path.utf-8 and the
// v2 file tree) passing SafePath; no two files at one path and no file where
// another needs a folder; for hybrids, v1 and v2 file lists that agree.
// The returned Torrent keeps b: do not change it afterwards.
func ValidateInfo(b []byte) (*Torrent, error) {
	switch {
	case len(b) == 0:
		return nil, inputErr(nil, "torrent info is empty")
	case len(b) > MaxTorrentSize:
		return nil, inputErr(ErrTooLarge, "torrent info is larger than %d MiB", MaxTorrentSize>>20)
	case b[0] != 'd':
		return nil, inputErr(nil, "torrent info is not a bencode dictionary")
	}
	end, err := scanValue(b, true)
	if err != nil {
		return nil, inputErr(nil, "torrent info is not valid bencode: %v", err)
	}
	if end != len(b) {
		return nil, inputErr(nil, "torrent info has %d bytes of unexpected data after its end", len(b)-end)
	}
	t := &Torrent{
		MetaInfo:  &metainfo.MetaInfo{InfoBytes: b},
		InfoHash:  sha1.Sum(b),
		InfoBytes: b,
	}
	if err := bencode.Unmarshal(b, &t.Info); err != nil {
		return nil, inputErr(nil, "torrent info has a field of the wrong type: %v", err)
	}
	if err := checkInfo(t); err != nil {
		return nil, err
	}
	return t, nil
}

func checkInfo(t *Torrent) error {
	info := &t.Info
	switch info.MetaVersion {
	case 0, 1:
	case 2:
		if len(info.Pieces) == 0 {
			return inputErr(ErrV2Only, "v2-only torrents are not supported (this one has no v1 piece hashes)")
		}
	default:
		return inputErr(nil, "torrent has unknown meta version %d", info.MetaVersion)
	}
	hybrid := info.HasV2()
	pl := info.PieceLength
	switch {
	case pl < MinPieceLength || pl > MaxPieceLength:
		return inputErr(nil, "torrent piece length %d is outside the supported %d KiB to %d MiB", pl, MinPieceLength>>10, MaxPieceLength>>20)
	case hybrid && pl&(pl-1) != 0:
		return inputErr(nil, "hybrid torrent piece length %d is not a power of two", pl)
	case len(info.Pieces)%20 != 0:
		return inputErr(nil, "torrent piece hashes are %d bytes, not a multiple of 20", len(info.Pieces))
	case len(info.Pieces)/20 > MaxPieces:
		return inputErr(ErrTooLarge, "torrent has %d pieces, more than the %d supported", len(info.Pieces)/20, MaxPieces)
	}
	name := info.BestName()
	if name == "" {
		return inputErr(nil, "torrent has no name")
	}
	if err := SafePath([]string{name}); err != nil {
		return err
	}
	if info.NameUtf8 != "" && info.Name != "" {
		if err := safeBytesPath([]string{info.Name}); err != nil {
			return err
		}
	}

	v1, total, err := v1Files(info, name)
	if err != nil {
		return err
	}
	if total <= 0 {
		return inputErr(nil, "torrent has no data (its files are all empty)")
	}
	if want := (total + pl - 1) / pl; want != int64(len(info.Pieces)/20) {
		return inputErr(nil, "torrent has hashes for %d pieces but its files need %d", len(info.Pieces)/20, want)
	}
	t.Files, t.TotalLength = v1, total
	if hybrid {
		if t.Files, t.TotalLength, err = v2Files(info, name, v1); err != nil {
			return err
		}
	}
	return nil
}

// v1Files checks the BEP 3 file list (or single length).
func v1Files(info *metainfo.Info, name string) (files []File, total int64, err error) {
	if len(info.Files) == 0 {
		switch {
		case info.Files != nil:
			return nil, 0, inputErr(nil, "torrent has an empty file list")
		case name == metainfo.NoName:
			return nil, 0, inputErr(nil, "single-file torrent has no usable name (%q)", name)
		case info.Length <= 0:
			return nil, 0, inputErr(nil, "torrent file length %d is not positive", info.Length)
		case info.Length > maxTotalLength:
			return nil, 0, inputErr(ErrTooLarge, "torrent is larger than %d TiB", int64(maxTotalLength>>40))
		}
		return []File{{Path: []string{name}, Length: info.Length}}, info.Length, nil
	}
	if info.Length != 0 {
		return nil, 0, inputErr(nil, "torrent has both a single-file length and a file list")
	}
	if len(info.Files) > MaxFiles {
		return nil, 0, inputErr(ErrTooLarge, "torrent has %d files, more than the %d supported", len(info.Files), MaxFiles)
	}
	files = make([]File, 0, len(info.Files))
	for i := range info.Files {
		fi := &info.Files[i]
		if len(fi.BestPath()) == 0 {
			return nil, 0, inputErr(ErrUnsafePath, "file %d of the torrent has an empty path", i+1)
		}
		p := underName(name, fi.BestPath())
		if err := SafePath(p); err != nil {
			return nil, 0, err
		}
		if len(fi.PathUtf8) != 0 && len(fi.Path) != 0 {
			if err := safeBytesPath(fi.Path); err != nil {
				return nil, 0, err
			}
		}
		if len(fi.SymlinkPath) != 0 {
			if err := SafePath(fi.SymlinkPath); err != nil {
				return nil, 0, err
			}
		}
		if fi.Length < 0 {
			return nil, 0, inputErr(nil, "file %s has a negative length", quote(clip(strings.Join(p, "/"))))
		}
		if fi.Length > maxTotalLength-total {
			return nil, 0, inputErr(ErrTooLarge, "torrent is larger than %d TiB", int64(maxTotalLength>>40))
		}
		files = append(files, File{Path: p, Length: fi.Length, Offset: total, Pad: strings.Contains(fi.Attr, "p")})
		total += fi.Length
	}
	if err := checkCollisions(files); err != nil {
		return nil, 0, err
	}
	return files, total, nil
}

// underName is where a file of the torrent lands, as anacrolix's file
// storage joins it.
func underName(name string, path []string) []string {
	if name == metainfo.NoName {
		return slices.Clone(path)
	}
	return append([]string{name}, path...)
}

// checkCollisions refuses two files at one path, and a file at a path that
// another file needs as a folder. Sorted component by component, every path
// under a prefix follows the prefix directly, so neighbours suffice.
// Padding files are skipped: libtorrent names them ".pad/<size>", repeated.
func checkCollisions(files []File) error {
	idx := make([]int32, 0, len(files))
	for i := range files {
		if !files[i].Pad {
			idx = append(idx, int32(i))
		}
	}
	slices.SortFunc(idx, func(a, b int32) int { return slices.Compare(files[a].Path, files[b].Path) })
	for k := 1; k < len(idx); k++ {
		a, b := files[idx[k-1]].Path, files[idx[k]].Path
		switch {
		case slices.Equal(a, b):
			return inputErr(ErrUnsafePath, "torrent has two files at %s", quote(clip(strings.Join(a, "/"))))
		case len(a) < len(b) && slices.Equal(a, b[:len(a)]):
			return inputErr(ErrUnsafePath, "torrent path %s is both a file and a folder", quote(clip(strings.Join(a, "/"))))
		}
	}
	return nil
}

// v2Files checks a hybrid torrent's file tree, which anacrolix uses for the
// storage layout, against its v1 file list, and returns the tree's files.
func v2Files(info *metainfo.Info, name string, v1 []File) ([]File, int64, error) {
	if !info.FileTree.IsDir() {
		return nil, 0, inputErr(nil, "hybrid torrent has an empty file tree")
	}
	n := 0
	if err := checkTree(&info.FileTree, underName(name, nil), &n); err != nil {
		return nil, 0, err
	}
	// Safe now: every non-empty file has a 32-byte pieces root, without
	// which anacrolix panics.
	var (
		files []File
		total int64
	)
	for fi := range info.UpvertedFilesIter() {
		p := underName(name, fi.Path)
		if err := SafePath(p); err != nil {
			return nil, 0, err
		}
		files = append(files, File{Path: p, Length: fi.Length, Offset: fi.TorrentOffset})
		total += fi.Length // bounded: checkTree capped every length
	}
	// The v1 list without padding must be the same files at the same
	// offsets. A single-file v1 torrent is the file "name" at the tree's
	// top.
	var want []File
	for _, f := range v1 {
		if !f.Pad {
			want = append(want, f)
		}
	}
	if len(info.Files) == 0 && len(want) == 1 {
		want[0].Path = underName(name, []string{name})
	}
	if len(want) != len(files) {
		return nil, 0, inputErr(nil, "hybrid torrent's v1 and v2 file lists differ (%d and %d files)", len(want), len(files))
	}
	for i := range files {
		if !slices.Equal(want[i].Path, files[i].Path) || want[i].Length != files[i].Length || want[i].Offset != files[i].Offset {
			return nil, 0, inputErr(nil, "hybrid torrent's v1 and v2 file lists differ at %s", quote(clip(strings.Join(files[i].Path, "/"))))
		}
	}
	if got, want := info.NumPieces(), len(info.Pieces)/20; got != want {
		return nil, 0, inputErr(nil, "hybrid torrent's file tree needs %d pieces but it has %d v1 piece hashes", got, want)
	}
	return files, total, nil
}

// checkTree walks a v2 file tree below path (its depth is bounded by the
// bencode scan). The root is a folder: v2Files checked.
func checkTree(ft *metainfo.FileTree, path []string, n *int) error {
	if !ft.IsDir() {
		*n++
		f := ft.File
		p := strings.Join(path, "/")
		switch {
		case *n > MaxFiles:
			return inputErr(ErrTooLarge, "torrent has more than %d files", MaxFiles)
		case f.Length < 0:
			return inputErr(nil, "file %s has a negative length", quote(clip(p)))
		case f.Length > maxTotalLength:
			return inputErr(ErrTooLarge, "file %s is larger than %d TiB", quote(clip(p)), int64(maxTotalLength>>40))
		case len(f.PiecesRoot) != 0 && len(f.PiecesRoot) != 32,
			f.Length > 0 && len(f.PiecesRoot) == 0:
			return inputErr(nil, "file %s has a bad v2 pieces root", quote(clip(p)))
		}
		return nil
	}
	if ft.File != (metainfo.FileTreeFile{}) {
		return inputErr(nil, "file tree entry %s is both a file and a folder", quote(clip(strings.Join(path, "/"))))
	}
	for _, k := range slices.Sorted(maps.Keys(ft.Dir)) {
		sub := ft.Dir[k]
		if err := checkTree(&sub, append(path, k), n); err != nil {
			return err
		}
	}
	return nil
}

func torrentTrackers(mi *metainfo.MetaInfo) []string {
	var out []string
	seen := map[string]bool{}
	for _, tier := range mi.UpvertedAnnounceList() {
		for _, tr := range tier {
			tr = strings.TrimSpace(tr)
			if len(out) < MaxTrackers && !seen[tr] && validTracker(tr) {
				seen[tr] = true
				out = append(out, tr)
			}
		}
	}
	return out
}
