package web

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/hearth-media/hearth/engine"
)

// Streamer opens a torrent's file for reading while it downloads.
// *engine.Engine implements it; a handler whose Engine does not answers
// /stream/ with 404.
type Streamer interface {
	OpenFile(ctx context.Context, id int64, index int) (engine.FileReader, error)
}

var _ Streamer = (*engine.Engine)(nil)

// mediaTypes are the types players care about; mime.TypeByExtension
// depends on the system's tables (absent on many devices) and misses
// several of these.
var mediaTypes = map[string]string{
	".mkv":  "video/x-matroska",
	".mk3d": "video/x-matroska",
	".mka":  "audio/x-matroska",
	".mp4":  "video/mp4",
	".m4v":  "video/mp4",
	".mov":  "video/quicktime",
	".webm": "video/webm",
	".avi":  "video/x-msvideo",
	".ts":   "video/mp2t",
	".m2ts": "video/mp2t",
	".mpg":  "video/mpeg",
	".mpeg": "video/mpeg",
	".ogv":  "video/ogg",
	".mp3":  "audio/mpeg",
	".flac": "audio/flac",
	".m4a":  "audio/mp4",
	".m4b":  "audio/mp4",
	".aac":  "audio/aac",
	".ogg":  "audio/ogg",
	".oga":  "audio/ogg",
	".opus": "audio/ogg",
	".wav":  "audio/wav",
	".jpg":  "image/jpeg",
	".jpeg": "image/jpeg",
	".png":  "image/png",
	".gif":  "image/gif",
	".webp": "image/webp",
	".heic": "image/heic",
	".srt":  "application/x-subrip",
	".vtt":  "text/vtt",
	".txt":  "text/plain; charset=utf-8",
	".pdf":  "application/pdf",
}

// contentType is a file's media type from its extension; unknown ones are
// application/octet-stream (never sniffed: sniffing reads the start of the
// file, which may not be downloaded yet).
func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := mediaTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" && !strings.HasPrefix(t, "text/html") {
		return t
	}
	return "application/octet-stream"
}

// safeFilename keeps a name fit for a quoted Content-Disposition parameter:
// printable ASCII without quotes or backslashes; the full name goes in
// filename* (RFC 6266, RFC 5987).
func safeFilename(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == '"' || r == '\\' || r == '/' || r == ';':
			b.WriteByte('_')
		case r < 0x20 || r > 0x7e:
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "file"
	}
	return b.String()
}

func contentDisposition(name string) string {
	v := `inline; filename="` + safeFilename(name) + `"`
	ascii := true
	for _, r := range name {
		if r > unicode.MaxASCII {
			ascii = false
			break
		}
	}
	if !ascii {
		v += "; filename*=UTF-8''" + pathEscapeRFC5987(name)
	}
	return v
}

// pathEscapeRFC5987 percent-encodes everything but RFC 5987 attr-chars.
func pathEscapeRFC5987(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// stream serves GET and HEAD /stream/{ref}/{index}: one file of a torrent,
// with Range support, readable while the torrent downloads (see
// engine.Engine.OpenFile). ref is the torrent's id or infohash.
func (a *api) stream(w http.ResponseWriter, r *http.Request) error {
	s, ok := a.eng.(Streamer)
	if !ok {
		return errorf(http.StatusNotFound, "streaming is not available")
	}
	t, err := a.torrentRef(r)
	if err != nil {
		return err
	}
	id := t.ID
	index, err := strconv.Atoi(r.PathValue("index"))
	if err != nil || index < 0 {
		return errorf(http.StatusNotFound, "no file %q in torrent %d", r.PathValue("index"), id)
	}
	// The request's context ends when the player goes away: a read
	// blocked on a missing piece returns then.
	f, err := s.OpenFile(r.Context(), id, index)
	switch {
	case errors.Is(err, engine.ErrNoFile):
		return errorf(http.StatusNotFound, "no file %d in torrent %d", index, id)
	case errors.Is(err, engine.ErrNotRunning):
		return errorf(http.StatusConflict, "torrent %d is not running; start it to stream this file before it is complete", id)
	case err != nil:
		return err
	}
	defer f.Close()
	// A film plays for longer than the server's read and write timeouts
	// (cmd/hearth/serve.go): lift them for this response. An expired read
	// deadline would also cancel the request's context mid-film.
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", contentType(f.Name()))
	h.Set("Content-Disposition", contentDisposition(f.Name()))
	h.Set("Accept-Ranges", "bytes")
	h.Set("Cache-Control", "private, no-store")
	// ServeContent answers Range (206, 416 with Content-Range: bytes
	// */size), If-Range and HEAD; it seeks to the start of the range and
	// copies only its length.
	http.ServeContent(w, r, "", time.Time{}, sizedReader{f})
	return nil
}

// sizedReader answers ServeContent's Seek(0, io.SeekEnd) without moving
// the torrent reader's position to the end of the file, which would make
// the last pieces urgent on every request.
type sizedReader struct{ engine.FileReader }

func (s sizedReader) Seek(off int64, whence int) (int64, error) {
	if whence == io.SeekEnd && off == 0 {
		return s.Size(), nil
	}
	return s.FileReader.Seek(off, whence)
}
