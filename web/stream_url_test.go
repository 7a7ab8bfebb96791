package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/engine/store"
)

func TestStreamURL(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	var eng *engine.Engine
	e := newAuthEnv(t, func(o *Options) { eng = o.Engine.(*engine.Engine); o.StreamKey = key })
	tt := enginetest.MakeTorrent(t, t.TempDir(), "Film", 0, []enginetest.File{{Path: "film.mkv", Size: 50000}, {Path: "secret.txt", Size: 1000}})
	added, _, err := eng.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Dir: tt.Dir})
	if err != nil {
		t.Fatal(err)
	}
	tor := enginetest.WaitFor(t, eng, strconv.FormatInt(added.ID, 10), 30*time.Second, "verified", enginetest.Complete)
	film, other := -1, -1
	for _, f := range tor.Files {
		switch f.Path {
		case "film.mkv":
			film = f.Index
		case "secret.txt":
			other = f.Index
		}
	}
	want, err := os.ReadFile(filepath.Join(tt.Dir, "Film", "film.mkv"))
	if err != nil {
		t.Fatal(err)
	}

	// Asking for a link needs credentials like any API call.
	e.expect(e.req("GET", fmt.Sprintf("/api/v1/torrents/%d/files/%d/stream-url", tor.ID, film), lanAddr, nil), 401, "stream-url without credentials")
	e.expect(e.req("GET", fmt.Sprintf("/api/v1/torrents/%d/files/99/stream-url", tor.ID), loAddr, nil), 404, "stream-url of no file")
	w := e.req("GET", fmt.Sprintf("/api/v1/torrents/%s/files/%d/stream-url", tor.InfoHash, film), loAddr, nil)
	e.expect(w, 200, "stream-url")
	var su streamURL
	if err := json.Unmarshal(w.Body.Bytes(), &su); err != nil {
		t.Fatal(err)
	}
	if d := time.Until(su.Expires); d < 23*time.Hour || d > 25*time.Hour {
		t.Errorf("link expires in %v, want 24 h", d)
	}
	u, err := url.Parse(su.URL)
	if err != nil || u.Path != fmt.Sprintf("/stream/%d/%d", tor.ID, film) || u.Query().Get("sig") == "" || u.Query().Get("exp") == "" {
		t.Fatalf("link = %q, want /stream/ID/INDEX?exp=…&sig=…", su.URL)
	}

	// The link opens the file from the LAN without credentials.
	w = e.req("GET", su.URL, lanAddr, nil)
	e.expect(w, 200, "signed link from the LAN")
	if !bytes.Equal(w.Body.Bytes(), want) {
		t.Errorf("signed link body = %d bytes, want the file's %d", w.Body.Len(), len(want))
	}
	w = e.req("GET", su.URL, lanAddr, nil, "Range", "bytes=100-199")
	e.expect(w, 206, "signed link with Range")
	if !bytes.Equal(w.Body.Bytes(), want[100:200]) {
		t.Error("signed link Range body differs from the file")
	}
	e.expect(e.req("HEAD", su.URL, lanAddr, nil), 200, "HEAD signed link")

	q := u.Query()
	sig, exp := q.Get("sig"), q.Get("exp")
	expN, _ := strconv.ParseInt(exp, 10, 64)
	flip := []byte(sig)
	flip[3] ^= 1
	past := time.Now().Add(-time.Minute).Unix()
	for _, tc := range []struct {
		what, path string
		code       int
	}{
		{"no signature", u.Path, 401},
		{"tampered signature", fmt.Sprintf("%s?exp=%s&sig=%s", u.Path, exp, flip), 403},
		{"later expiry", fmt.Sprintf("%s?exp=%d&sig=%s", u.Path, expN+3600, sig), 403},
		{"another file", fmt.Sprintf("/stream/%d/%d?exp=%s&sig=%s", tor.ID, other, exp, sig), 403},
		{"by infohash", fmt.Sprintf("/stream/%s/%d?exp=%s&sig=%s", tor.InfoHash, film, exp, sig), 403},
		{"expired", fmt.Sprintf("%s?exp=%d&sig=%s", u.Path, past, streamSig(key, strconv.FormatInt(tor.ID, 10), strconv.Itoa(film), past)), 403},
		{"signature on an API path", fmt.Sprintf("/api/v1/torrents?exp=%s&sig=%s", exp, sig), 401},
		{"empty signature", fmt.Sprintf("%s?exp=%s&sig=", u.Path, exp), 403},
	} {
		e.expect(e.req("GET", tc.path, lanAddr, nil), tc.code, tc.what)
	}
}

func TestStreamKeyPersists(t *testing.T) {
	dir := t.TempDir()
	open := func() store.Store {
		st, err := store.Open(store.Options{Backend: store.BackendBbolt, Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	k1, err := StreamKey(st)
	if err != nil || len(k1) != 32 {
		t.Fatalf("StreamKey = %x, %v, want 32 bytes", k1, err)
	}
	st.Close()
	st = open()
	defer st.Close()
	k2, err := StreamKey(st)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Errorf("StreamKey after reopening = %x, %v, want %x", k2, err, k1)
	}
}
