package tracker

import (
	"fmt"
	"slices"
	"strconv"
)

// appendBencode appends the BEP 3 encoding of v: string, []byte, int, int64,
// []any, or map[string]any (keys written in sorted byte order).
func appendBencode(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		b = strconv.AppendInt(b, int64(len(v)), 10)
		b = append(b, ':')
		return append(b, v...), nil
	case []byte:
		b = strconv.AppendInt(b, int64(len(v)), 10)
		b = append(b, ':')
		return append(b, v...), nil
	case int:
		return appendBencode(b, int64(v))
	case int64:
		b = append(b, 'i')
		b = strconv.AppendInt(b, v, 10)
		return append(b, 'e'), nil
	case []any:
		b = append(b, 'l')
		for _, e := range v {
			var err error
			if b, err = appendBencode(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, 'e'), nil
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, 'd')
		for _, k := range keys {
			b, _ = appendBencode(b, k)
			var err error
			if b, err = appendBencode(b, v[k]); err != nil {
				return nil, err
			}
		}
		return append(b, 'e'), nil
	default:
		return nil, fmt.Errorf("bencode: unsupported type %T", v)
	}
}
