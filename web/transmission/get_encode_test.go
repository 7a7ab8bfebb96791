package transmission

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
)

// TestAppendValue: the scalars torrentRows writes itself come out as
// encoding/json writes them.
func TestAppendValue(t *testing.T) {
	values := []any{
		0, -1, 1 << 30, int64(1 << 40), int64(-7), int64(math.MaxInt64), true, false,
		0.0, math.Copysign(0, -1), 1.0 / 3, 0.1, 1e-6, 9.99e-7, 1e-7, 123456789.125, 1e20, 1e21, 1.5e300, -2.5e-9,
		"", "plain name.mkv", `quote " and \ back`, "<b>&amp;</b>", "tab\there\n", "Séries — été", "\u2028\u2029",
		"bad utf-8 \xff\xfe", "\x00\x1f\x7f",
		[]int{1, 2}, map[string]any{"fromCache": 0}, nil,
	}
	for _, v := range values {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendValue([]byte("x"), v, false)
		if err != nil || string(got) != "x"+string(want) {
			t.Errorf("appendValue(%#v) = %s, %v, want x%s", v, got, err, want)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1)} {
		if _, err := appendValue(nil, f, false); err == nil {
			t.Errorf("appendValue(%v) = no error, want json's unsupported value error", f)
		}
	}
	got, _ := appendValue(nil, map[string]any{"bytesCompleted": 1}, true)
	if string(got) != `{"bytes_completed":1}` {
		t.Errorf("appendValue of a map for JSON-RPC 2.0 = %s, want snake_case keys", got)
	}
}

// TestTorrentGetEveryField: torrent-get of every field, as objects and
// as a table, in both namings, holds what encoding/json makes of the
// same field values (the map per torrent the handler used to build),
// with the keys in the order asked.
func TestTorrentGetEveryField(t *testing.T) {
	s := startRPC(t)
	enginetest.AddMany(t, s.eng, 3)
	dir := t.TempDir()
	tt := enginetest.MakeTorrent(t, dir, "<odd & \"named\"> été", 0, []enginetest.File{{Path: "a.bin", Size: 40 << 10}, {Path: "sub/b.txt", Size: 1000}})
	// Paused: a check of its data would change its fields between the two encodings.
	if _, _, err := s.eng.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Dir: dir, Paused: true}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range torrentFields {
		names = append(names, n)
	}
	slices.Sort(names)
	slices.Reverse(names) // not the order a map's keys are encoded in
	h := s.handlerOf(t)
	for _, st := range []style{styleClassic, styleSnake} {
		for _, table := range []bool{false, true} {
			c := &call{h: h, ctx: context.Background(), style: st}
			list := s.eng.List()
			got, err := (&torrentRows{c: c, list: list, names: names, table: table}).MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			// What the handler answered before: a map per torrent (or a
			// []any row), encoded by encoding/json.
			var rows []any
			if table {
				header := make([]any, len(names))
				for i, n := range names {
					header[i] = n
					if st == styleSnake {
						header[i] = snakeName(n)
					}
				}
				rows = append(rows, header)
			}
			for _, tr := range list {
				v := &tview{c: c, t: tr}
				obj := map[string]any{}
				row := make([]any, len(names))
				for i, n := range names {
					obj[n] = torrentFields[n](v)
					row[i] = torrentFields[n](v)
				}
				if table {
					rows = append(rows, row)
				} else {
					rows = append(rows, obj)
				}
			}
			var old any = rows
			if st == styleSnake {
				old = toSnake(old)
			}
			want, err := json.Marshal(old)
			if err != nil {
				t.Fatal(err)
			}
			if !sameJSON(t, got, want) {
				t.Errorf("style %d, table %v: torrentRows =\n%s\nwant (as encoding/json)\n%s", st, table, got, want)
			}
			if !table {
				keys := objectKeys(t, got)
				want := names
				if st == styleSnake {
					want = nil
					for _, n := range names {
						want = append(want, snakeName(n))
					}
				}
				if !slices.Equal(keys, want) {
					t.Errorf("style %d: keys of the first torrent = %v, want the order asked %v", st, keys, want)
				}
			}
		}
	}
}

// handlerOf returns the RPC server's handler.
func (s *rpcServer) handlerOf(t *testing.T) *handler {
	t.Helper()
	h, ok := NewHandler(Options{Engine: s.eng, Config: s.node.Config, Version: "test"}).(*handler)
	if !ok {
		t.Fatal("NewHandler does not return a *handler")
	}
	return h
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

// objectKeys returns the keys of the first object of a JSON array, in order.
func objectKeys(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	var keys []string
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		switch tok {
		case json.Delim('['), json.Delim('{'):
			depth++
			continue
		case json.Delim(']'), json.Delim('}'):
			depth--
			if depth == 1 {
				return keys
			}
			continue
		}
		if depth == 2 {
			keys = append(keys, tok.(string))
			// Skip the value.
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestTorrentGetNamed: named torrents (ids and hashes, repeated, some
// missing) come in queue order, each once; missing ones are skipped while
// any is found, and named in the error otherwise; a method that changes
// things changes nothing if any is missing.
func TestTorrentGetNamed(t *testing.T) {
	s := startRPC(t)
	added := enginetest.AddMany(t, s.eng, 5)
	ids := func(ts []map[string]any) []int64 {
		var out []int64
		for _, x := range ts {
			out = append(out, num(x["id"]))
		}
		return out
	}
	if got := ids(s.torrents([]any{4, added[1].InfoHash, 4, 99, strings.ToUpper(added[0].InfoHash)}, "id")); !slices.Equal(got, []int64{1, 2, 4}) {
		t.Errorf("torrent-get of 4, hash of 2, 4, 99, hash of 1 = %v, want [1 2 4]", got)
	}
	if msg := s.fails("torrent-get", map[string]any{"fields": []string{"id"}, "ids": []any{98, strings.Repeat("0", 40)}}); !strings.Contains(msg, "98") || !strings.Contains(msg, strings.Repeat("0", 40)) {
		t.Errorf("torrent-get of two missing = %q, want both named", msg)
	}
	if msg := s.fails("torrent-stop", map[string]any{"ids": []any{2, 99}}); !strings.Contains(msg, "99") {
		t.Errorf("torrent-stop of 2 and 99 = %q, want 99 named", msg)
	}
	if tr, _ := s.eng.Get("2"); tr.State == engine.StateStopped {
		t.Errorf("torrent 2 stopped by a torrent-stop that named a missing torrent")
	}
}
