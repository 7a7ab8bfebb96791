package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-media/hearth/engine/store"
)

// Signed stream links, for players outside the browser (VLC, mpv, a TV's
// own player) that cannot send the session cookie or a token:
//
//	GET /api/v1/torrents/{ref}/files/{index}/stream-url
//	→ {"url": "/stream/ID/INDEX?exp=UNIX&sig=HMAC", "expires": "…"}
//
// The signature is an HMAC-SHA256 of the path's id, index and expiry
// under the daemon's stream key (kept in the store, so links survive a
// restart; it is not the access package's per-process key). A signed
// link opens that one file until it expires, from any address the client
// list allows, without credentials; authenticate checks it (streamLink).

// StreamLinkTTL is how long a signed stream link works.
const StreamLinkTTL = 24 * time.Hour

// keyStreamKey is where StreamKey keeps the key.
const keyStreamKey = "web/stream-key"

// StreamKey returns the daemon's key for signed stream links from st,
// making and saving one the first time. serve passes it as
// Options.StreamKey.
func StreamKey(st store.Store) ([]byte, error) {
	b, err := st.Get([]byte(keyStreamKey))
	if err == nil && len(b) == 32 {
		return b, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("read stream key: %w", err)
	}
	b = make([]byte, 32)
	rand.Read(b)
	if err := st.Set([]byte(keyStreamKey), b); err != nil {
		return nil, fmt.Errorf("save stream key: %w", err)
	}
	return b, nil
}

// streamSig signs a stream path's ref, index and expiry.
func streamSig(key []byte, ref, index string, exp int64) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "hearth stream link\x00%s\x00%s\x00%d", ref, index, exp)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// streamLink reports whether r carries a stream link signature (sig in
// the query of GET or HEAD /stream/{ref}/{index}), and if so whether it
// is valid now.
func (a *api) streamLink(r *http.Request) (signed, valid bool, why string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false, false, ""
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/stream/")
	if !ok {
		return false, false, ""
	}
	q := r.URL.Query()
	sig := q.Get("sig")
	if !q.Has("sig") {
		return false, false, ""
	}
	ref, index, ok := strings.Cut(rest, "/")
	if !ok || ref == "" || index == "" || strings.Contains(index, "/") {
		return true, false, "malformed stream link"
	}
	exp, err := strconv.ParseInt(q.Get("exp"), 10, 64)
	if err != nil {
		return true, false, "malformed stream link"
	}
	want := streamSig(a.streamKey, ref, index, exp)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return true, false, "stream link signature does not match"
	}
	if time.Now().Unix() >= exp {
		return true, false, "stream link expired: ask for a new one"
	}
	return true, true, ""
}

// streamURL is the answer to GET …/stream-url.
type streamURL struct {
	URL     string    `json:"url"`
	Expires time.Time `json:"expires"`
}

func (a *api) getStreamURL(w http.ResponseWriter, r *http.Request) error {
	t, err := a.torrentRef(r)
	if err != nil {
		return err
	}
	index, err := strconv.Atoi(r.PathValue("index"))
	if err != nil || index < 0 || (t.HasMetadata && index >= len(t.Files)) {
		return errorf(http.StatusNotFound, "no file %q in torrent %d", r.PathValue("index"), t.ID)
	}
	exp := time.Now().Add(StreamLinkTTL).Truncate(time.Second)
	ref, idx := strconv.FormatInt(t.ID, 10), strconv.Itoa(index)
	u := "/stream/" + ref + "/" + idx + "?exp=" + strconv.FormatInt(exp.Unix(), 10) + "&sig=" + streamSig(a.streamKey, ref, idx, exp.Unix())
	writeJSON(w, http.StatusOK, streamURL{URL: u, Expires: exp.UTC()})
	return nil
}
