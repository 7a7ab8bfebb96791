package link

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"
)

// marshal bencodes v (maps come out with sorted keys).
func marshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := bencode.Marshal(v)
	if err != nil {
		t.Fatalf("bencode.Marshal: %v", err)
	}
	return b
}

// baseInfo is a valid multi-file info dictionary: 25,000 bytes in two
// files, two 16 KiB pieces (the hashes need not match any data).
func baseInfo() map[string]any {
	return map[string]any{
		"name":         "album",
		"piece length": 16384,
		"pieces":       strings.Repeat("h", 40),
		"files": []any{
			map[string]any{"length": 20000, "path": []any{"a.bin"}},
			map[string]any{"length": 5000, "path": []any{"sub", "b.txt"}},
		},
	}
}

// singleInfo is a valid single-file info dictionary.
func singleInfo() map[string]any {
	return map[string]any{
		"name":         "movie.mkv",
		"piece length": 16384,
		"pieces":       strings.Repeat("h", 20),
		"length":       1000,
	}
}

// with returns a copy of info with key set to v (or deleted when v is nil).
func with(info map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(info))
	for k, v := range info {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// files makes a "files" list from path/length pairs.
func files(pl ...any) []any {
	var out []any
	for i := 0; i < len(pl); i += 2 {
		var path []any
		for _, c := range pl[i].([]string) {
			path = append(path, c)
		}
		out = append(out, map[string]any{"path": path, "length": pl[i+1]})
	}
	return out
}

// torrentFile wraps an info dictionary (a map or raw bencode.Bytes) in a
// .torrent file.
func torrentFile(t testing.TB, info any) []byte {
	t.Helper()
	return marshal(t, map[string]any{
		"announce":      "http://127.0.0.1:8000/announce",
		"created by":    "hearth test",
		"creation date": 1700000000,
		"info":          info,
	})
}

// wantErr fails unless err is an *Error with a one-line message, wrapping
// sentinel when one is given.
func wantErr(t testing.TB, what string, err, sentinel error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s = nil error, want an error", what)
	}
	var le *Error
	if !errors.As(err, &le) {
		t.Fatalf("%s = %T %v, want *link.Error", what, err, err)
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Errorf("%s = %v, want errors.Is %v", what, err, sentinel)
	}
	msg := err.Error()
	if msg == "" || strings.ContainsAny(msg, "\n\r") || len(msg) > maxMsg+len("…") {
		t.Errorf("%s: message %q is not one short line", what, msg)
	}
}

func repeatByte(c byte, n int) []byte { return bytes.Repeat([]byte{c}, n) }
