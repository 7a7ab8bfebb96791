package transmission

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/hearth-media/hearth/engine"
)

// torrentRows is torrent-get's "torrents": the fields asked for of each
// torrent, as objects (keys in the order asked) or as Transmission's
// "table" (a header row, then one row per torrent). It encodes itself
// straight into one buffer when the answer is written: no map per torrent
// and no sorting of their keys, which made a list of 1,000 torrents cost
// 4.4 MB of garbage to send 265 KB (BenchmarkTorrentGetAll).
type torrentRows struct {
	c     *call
	list  []engine.Torrent
	names []string // classic field names, known, once each
	table bool
}

func (r *torrentRows) MarshalJSON() ([]byte, error) {
	snake := r.c.style == styleSnake
	keys := make([]string, len(r.names))
	for i, n := range r.names {
		keys[i] = n
		if snake {
			keys[i] = snakeName(n)
		}
	}
	size := len(r.list) * (2 + 16*len(r.names)) // a guess for small answers
	if len(r.list) > maxSmallGet {
		size = int(r.c.h.rowsSize.Load()) * 9 / 8
	}
	b := make([]byte, 0, max(256, size))
	b = append(b, '[')
	if r.table {
		b = append(b, '[')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
		}
		b = append(b, ']')
	}
	var v tview
	var err error
	for i := range r.list {
		if i > 0 || r.table {
			b = append(b, ',')
		}
		v = tview{c: r.c, t: r.list[i]}
		open, end := byte('{'), byte('}')
		if r.table {
			open, end = '[', ']'
		}
		b = append(b, open)
		for j, n := range r.names {
			if j > 0 {
				b = append(b, ',')
			}
			if !r.table {
				b = appendString(b, keys[j])
				b = append(b, ':')
			}
			if b, err = appendValue(b, torrentFields[n](&v), snake); err != nil {
				return nil, err
			}
		}
		b = append(b, end)
	}
	b = append(b, ']')
	if len(r.list) > maxSmallGet {
		r.c.h.rowsSize.Store(int64(len(b)))
	}
	return b, nil
}

// appendValue appends v as encoding/json would: the scalars torrent
// fields are made of directly, anything else (file lists, peers, tracker
// stats) through json.Marshal, with snake_case keys for JSON-RPC 2.0.
func appendValue(b []byte, v any, snake bool) ([]byte, error) {
	switch x := v.(type) {
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case string:
		return appendString(b, x), nil
	case float64:
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			return appendFloat(b, x), nil
		}
	}
	if snake {
		v = toSnake(v)
	}
	j, err := json.Marshal(v)
	return append(b, j...), err
}

// appendString appends s as a JSON string. Printable ASCII without
// quotes, backslashes or the characters encoding/json escapes for HTML
// (<, >, &) is copied; anything else is left to encoding/json, so the
// bytes are the same as json.Marshal's.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			j, _ := json.Marshal(s) // a string always encodes
			return append(b, j...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendFloat appends a finite float64 as encoding/json does: the
// shortest decimal that reads back the same, exponent form outside
// [1e-6, 1e21), exponents without a leading zero.
func appendFloat(b []byte, f float64) []byte {
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 → 1e-7, as encoding/json writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
