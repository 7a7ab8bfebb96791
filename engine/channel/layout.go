package channel

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/hearth-media/hearth/engine/link"
)

// Layout of a version's torrent (see doc.go).
const (
	// padDir holds BEP 47 padding files: ".pad/<length>", attr "p".
	padDir = ".pad"
	// tmpDir is where a subscriber stages files it moves between paths.
	tmpDir = ".hearth-tmp"
	// extKey is the info dictionary key of Hearth's manifest.
	extKey = "hearth"
	// formatVersion of the manifest.
	formatVersion = 1

	// DefaultPieceLength is a new channel's piece length: padding every
	// file to whole pieces costs half a piece per file on average, on the
	// wire and on disk, so pieces stay small; see piecesFor for growth.
	DefaultPieceLength = 256 << 10
	// maxPieceLength bounds what a version may use (a piece is held in
	// memory while it is checked).
	maxPieceLength = 16 << 20
	// targetPieces is where the publisher doubles the piece length: the
	// piece hashes (20 bytes each) are part of every version's metadata,
	// and anacrolix holds about 0.5 KiB of heap per piece (measured), so
	// 32768 pieces are ~640 KiB of metadata and ~17 MiB on a subscriber.
	targetPieces = 1 << 15
)

// vfile is one file of a version: a photo, a video.
type vfile struct {
	Path   []string // inside the channel folder
	Length int64
	SHA256 [32]byte
	// Pieces are the SHA-1 hashes of the file's pieces, the last one
	// padded with zeros to a whole piece (20 bytes each).
	Pieces []byte
	// Index is the file's index in the torrent (padding files count);
	// FirstPiece its first piece. Set for parsed versions.
	Index      int
	FirstPiece int
}

func (f *vfile) pathString() string { return strings.Join(f.Path, "/") }

func (f *vfile) numPieces(pl int64) int { return int((f.Length + pl - 1) / pl) }

// version is a checked version torrent.
type version struct {
	InfoHash    [20]byte
	InfoBytes   []byte
	PieceLength int64
	Files       []vfile // in torrent order, without padding
	Bytes       int64   // sum of Files' lengths
	NumPieces   int
}

// infoFile, infoExt and infoDict are what buildInfo encodes; the bencode
// encoder sorts keys, so the encoding is canonical.
type infoFile struct {
	Attr   string   `bencode:"attr,omitempty"`
	Length int64    `bencode:"length"`
	Path   []string `bencode:"path"`
}

type infoExt struct {
	// SHA256 holds 32 bytes per file that is not padding, in order.
	SHA256  []byte `bencode:"sha256"`
	Version int64  `bencode:"v"`
}

type infoDict struct {
	Files       []infoFile `bencode:"files"`
	Hearth      infoExt    `bencode:"hearth"`
	Name        string     `bencode:"name"`
	PieceLength int64      `bencode:"piece length"`
	Pieces      []byte     `bencode:"pieces"`
}

// buildInfo makes a version's info dictionary from files already hashed
// with piece length pl. Files are sorted by path; each is followed by a
// padding file up to the next piece boundary, so a file's pieces, and so
// their hashes, do not depend on the files around it.
func buildInfo(pl int64, files []vfile) (*version, error) {
	if len(files) == 0 {
		return nil, errors.New("channel: no files to publish")
	}
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b vfile) int { return slices.Compare(a.Path, b.Path) })
	d := infoDict{Name: metainfo.NoName, PieceLength: pl, Hearth: infoExt{Version: formatVersion}}
	var pieces bytes.Buffer
	for i := range files {
		f := &files[i]
		if f.Length <= 0 || len(f.Pieces) != 20*f.numPieces(pl) {
			return nil, fmt.Errorf("channel: file %s has %d bytes of piece hashes for %d bytes", f.pathString(), len(f.Pieces), f.Length)
		}
		if i > 0 && slices.Equal(files[i-1].Path, f.Path) {
			return nil, fmt.Errorf("channel: two files at %s", f.pathString())
		}
		f.Index, f.FirstPiece = len(d.Files), pieces.Len()/20
		d.Files = append(d.Files, infoFile{Length: f.Length, Path: f.Path})
		if pad := padLen(f.Length, pl); pad > 0 {
			d.Files = append(d.Files, infoFile{Attr: "p", Length: pad, Path: []string{padDir, strconv.FormatInt(pad, 10)}})
		}
		d.Hearth.SHA256 = append(d.Hearth.SHA256, f.SHA256[:]...)
		pieces.Write(f.Pieces)
	}
	d.Pieces = pieces.Bytes()
	b, err := bencode.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode version: %w", err)
	}
	v, err := parseVersion(b)
	if err != nil {
		return nil, fmt.Errorf("check built version: %w", err)
	}
	return v, nil
}

func padLen(n, pl int64) int64 {
	if r := n % pl; r != 0 {
		return pl - r
	}
	return 0
}

// ErrBadVersion is wrapped by parseVersion's errors: the torrent a
// channel item points at is not a Hearth channel version.
var ErrBadVersion = errors.New("channel: bad version torrent")

func badVersion(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadVersion, fmt.Sprintf(format, args...))
}

// parseVersion checks a version's info dictionary: everything the engine
// checks (link.ValidateInfo: safe names, sizes, piece counts), then the
// layout this package makes: v1, no top folder ("-"), files that start
// on piece boundaries each followed by its padding ".pad/<n>", no file
// under the folders Hearth reserves, and one SHA-256 per file.
func parseVersion(b []byte) (*version, error) {
	t, err := link.ValidateInfo(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadVersion, err)
	}
	info := &t.Info
	pl := info.PieceLength
	switch {
	case info.HasV2() || info.MetaVersion != 0:
		return nil, badVersion("not a v1 torrent")
	case info.Name != metainfo.NoName || info.NameUtf8 != "":
		return nil, badVersion("its name is %s, want %q", quote(info.BestName()), metainfo.NoName)
	case len(info.Files) == 0:
		return nil, badVersion("it has no file list")
	case pl > maxPieceLength || pl&(pl-1) != 0:
		return nil, badVersion("piece length %d is not a power of two up to %d MiB", pl, maxPieceLength>>20)
	}
	var ext struct {
		Hearth *infoExt `bencode:"hearth"`
	}
	if err := bencode.Unmarshal(b, &ext); err != nil || ext.Hearth == nil {
		return nil, badVersion("no %q manifest", extKey)
	}
	if ext.Hearth.Version != formatVersion {
		return nil, badVersion("manifest version %d, want %d", ext.Hearth.Version, formatVersion)
	}
	sums := ext.Hearth.SHA256
	v := &version{InfoHash: t.InfoHash, InfoBytes: b, PieceLength: pl, NumPieces: info.NumPieces()}
	var off int64
	for i := 0; i < len(info.Files); i++ {
		fi := &info.Files[i]
		p := fi.BestPath()
		if fi.Attr != "" || (len(p) > 0 && (p[0] == padDir || p[0] == tmpDir)) {
			return nil, badVersion("file %d (%s) is not a file of a channel", i, quote(strings.Join(p, "/")))
		}
		if len(fi.PathUtf8) != 0 && len(fi.Path) != 0 && !slices.Equal(fi.PathUtf8, fi.Path) {
			return nil, badVersion("file %d has two different names", i)
		}
		if fi.Length <= 0 {
			return nil, badVersion("file %s is empty", quote(strings.Join(p, "/")))
		}
		if off%pl != 0 {
			return nil, badVersion("file %s does not start on a piece boundary", quote(strings.Join(p, "/")))
		}
		if len(sums) < 32 {
			return nil, badVersion("manifest has fewer checksums than files")
		}
		f := vfile{Path: slices.Clone(p), Length: fi.Length, Index: i, FirstPiece: int(off / pl)}
		copy(f.SHA256[:], sums[:32])
		sums = sums[32:]
		n := f.numPieces(pl)
		f.Pieces = info.Pieces[f.FirstPiece*20 : (f.FirstPiece+n)*20]
		off += fi.Length
		if pad := padLen(fi.Length, pl); pad > 0 {
			i++
			if i == len(info.Files) {
				return nil, badVersion("file %s has no padding after it", quote(f.pathString()))
			}
			pf := &info.Files[i]
			want := []string{padDir, strconv.FormatInt(pad, 10)}
			if pf.Attr != "p" || pf.Length != pad || !slices.Equal(pf.BestPath(), want) {
				return nil, badVersion("file %s is not followed by its padding %s", quote(f.pathString()), strings.Join(want, "/"))
			}
			off += pad
		}
		v.Files = append(v.Files, f)
		v.Bytes += f.Length
	}
	if len(sums) != 0 {
		return nil, badVersion("manifest has more checksums than files")
	}
	return v, nil
}

// hashFile reads a file once and returns its SHA-256 and the SHA-1 of
// each piece of pl bytes, the last one padded with zeros.
func hashFile(path string, pl int64) (sum [32]byte, pieces []byte, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return sum, nil, 0, err
	}
	defer f.Close()
	whole := sha256.New()
	buf := make([]byte, pl)
	for {
		n, rerr := io.ReadFull(f, buf)
		if n > 0 {
			whole.Write(buf[:n])
			size += int64(n)
			clear(buf[n:])
			h := sha1.Sum(buf)
			pieces = append(pieces, h[:]...)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return sum, nil, 0, rerr
		}
	}
	copy(sum[:], whole.Sum(nil))
	return sum, pieces, size, nil
}

// piecesFor returns the piece length for a version of total bytes: at
// least cur (a channel's piece length never shrinks, so versions keep
// sharing pieces), doubled while the version would have more than
// targetPieces pieces.
func piecesFor(cur, total int64) int64 {
	pl := max(cur, 16<<10)
	for pl < maxPieceLength && total/pl > targetPieces {
		pl *= 2
	}
	return pl
}
