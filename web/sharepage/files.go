package sharepage

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	eshare "github.com/hearth-media/hearth/engine/share"
)

// file is one file a share shows.
type file struct {
	Index int
	Path  string // slash separated, relative to root; what the page shows
	Name  string // last element
	Size  int64
	Ready bool   // complete: a torrent's file still arriving is not served
	Kind  string // "image", "video", "audio" or "other"
	Type  string // Content-Type
	// Thumbable: a format engine/thumb decodes (JPEG, PNG, GIF, WebP; not
	// AVIF, which shows its name in the grid).
	Thumbable bool
}

// content is what a share resolves to at the moment of a request.
type content struct {
	Title     string
	Link      string // channel link or magnet, for people with a client
	IsChannel bool
	root      string
	Files     []file
}

// resolve lists a share's files: a channel's current folder, or a
// torrent's files (a subset when the share names some).
func (h *handler) resolve(s eshare.Share) (content, error) {
	var c content
	switch {
	case s.Channel != "":
		if h.o.Channels == nil {
			return c, fmt.Errorf("share %s: channels are off", s.ID)
		}
		ch, err := h.o.Channels.Channel(s.Channel)
		if err != nil {
			return c, err
		}
		items, err := h.o.Channels.Items(s.Channel)
		if err != nil {
			return c, err
		}
		c = content{Title: ch.Name, Link: ch.Link, IsChannel: true, root: ch.Dir}
		for _, it := range items {
			c.Files = append(c.Files, newFile(it.Path, it.Size, true))
		}
	default:
		if h.o.Torrents == nil {
			return c, fmt.Errorf("share %s: no engine", s.ID)
		}
		t, err := h.o.Torrents.Get(fmt.Sprint(s.TorrentID))
		if err != nil {
			return c, err
		}
		root := t.DataDir
		if root == "" {
			root = t.Dir
		}
		c = content{Title: t.Name, Link: t.Magnet, root: root}
		for _, f := range t.Files {
			if len(s.Files) > 0 && !slices.Contains(s.Files, f.Path) {
				continue
			}
			// File.Path is below the torrent's folder (its name); a
			// single-file torrent's one file has an empty path.
			rel := t.Name
			if f.Path != "" {
				rel = path.Join(t.Name, f.Path)
			}
			c.Files = append(c.Files, newFile(rel, f.Size, f.Done >= f.Size))
		}
	}
	if s.Label != "" {
		c.Title = s.Label
	}
	for i := range c.Files {
		c.Files[i].Index = i
	}
	return c, nil
}

func newFile(p string, size int64, ready bool) file {
	typ, kind := mediaType(p)
	thumbable := typ == "image/jpeg" || typ == "image/png" || typ == "image/gif" || typ == "image/webp"
	return file{Path: p, Name: path.Base(p), Size: size, Ready: ready, Kind: kind, Type: typ, Thumbable: thumbable}
}

// mediaTypes are the types a browser may show inline. SVG is not among
// them: it is a document that can run script.
var mediaTypes = map[string][2]string{
	".jpg": {"image/jpeg", "image"}, ".jpeg": {"image/jpeg", "image"},
	".png": {"image/png", "image"}, ".gif": {"image/gif", "image"},
	".webp": {"image/webp", "image"}, ".avif": {"image/avif", "image"},
	".mp4": {"video/mp4", "video"}, ".m4v": {"video/mp4", "video"},
	".webm": {"video/webm", "video"}, ".mov": {"video/quicktime", "video"},
	".mp3": {"audio/mpeg", "audio"}, ".m4a": {"audio/mp4", "audio"},
	".ogg": {"audio/ogg", "audio"}, ".opus": {"audio/ogg", "audio"},
	".flac": {"audio/flac", "audio"}, ".wav": {"audio/wav", "audio"},
}

func mediaType(p string) (typ, kind string) {
	if t, ok := mediaTypes[strings.ToLower(path.Ext(p))]; ok {
		return t[0], t[1]
	}
	return "application/octet-stream", "other"
}

// open opens a share's file by its index, only inside the share's folder:
// os.Root refuses ".." and symbolic links that lead out of it, whatever
// the stored path says.
func (c content) open(i int) (*os.File, file, error) {
	if i < 0 || i >= len(c.Files) || !c.Files[i].Ready || c.root == "" {
		return nil, file{}, os.ErrNotExist
	}
	f := c.Files[i]
	root, err := os.OpenRoot(c.root)
	if err != nil {
		return nil, file{}, err
	}
	defer root.Close()
	fh, err := root.Open(filepath.FromSlash(f.Path))
	if err != nil {
		return nil, file{}, err
	}
	st, err := fh.Stat()
	if err != nil || !st.Mode().IsRegular() {
		fh.Close()
		return nil, file{}, os.ErrNotExist
	}
	return fh, f, nil
}
