package share

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine/store"
)

// FuzzDuration reads share lifetimes as the API gets them (a JSON string
// such as "7d" or a number of seconds). Whatever is accepted must be a
// real span of time that survives a round trip: writing it and reading
// it back gives the same duration.
func FuzzDuration(f *testing.F) {
	for _, s := range []string{`"7d"`, `"168h"`, `"90m"`, `"0d"`, `"36500d"`, `"1h30m"`, `604800`, `0`, `-1`, `"-5h"`,
		`"007d"`, `"1e3d"`, `9223372036`, `9223372037`, `18446744074`, `1e20`, `"2562047h"`, `null`, `"d"`, `{}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var d Duration
		if err := json.Unmarshal([]byte(s), &d); err != nil {
			// Broken JSON fails in the decoder before UnmarshalJSON runs
			// (testdata/fuzz/FuzzDuration/e9e3ffbe3b3a072c); JSON that
			// reaches it must fail as bad input (a 4xx for the API).
			var syn *json.SyntaxError
			if !errors.Is(err, ErrInput) && !errors.As(err, &syn) {
				t.Fatalf("%s: error %v (%T) is neither bad input nor bad JSON", s, err, err)
			}
			return
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("%s: read as %v, which does not write: %v", s, time.Duration(d), err)
		}
		var d2 Duration
		if err := json.Unmarshal(b, &d2); err != nil || d2 != d {
			t.Fatalf("%s: read as %v, written %s, read back as %v (%v)", s, time.Duration(d), b, time.Duration(d2), err)
		}
		if strings.HasPrefix(strings.TrimSpace(s), "-") || strings.HasPrefix(strings.TrimSpace(s), `"-`) {
			return // negative spans are refused by Create
		}
		if d < 0 {
			t.Fatalf("%s: read as the negative %v", s, time.Duration(d))
		}
	})
}

// FuzzLookup opens shares by link token: only a share's own token opens
// it, and no token (empty, long, a prefix, a case change) panics.
func FuzzLookup(f *testing.F) {
	st, err := store.Open(store.Options{Backend: store.BackendMemory})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	m := New(st, nil)
	s, err := m.Create(CreateRequest{Channel: "c"})
	if err != nil {
		f.Fatal(err)
	}
	for _, tok := range []string{s.Token, s.Token[:len(s.Token)-1], strings.ToUpper(s.Token), s.ID, "", strings.Repeat("a", 65), s.Token + "\x00"} {
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		got, err := m.Lookup(tok)
		if tok == s.Token {
			if err != nil || got.ID != s.ID {
				t.Fatalf("Lookup(own token) = %q, %v; want %q", got.ID, err, s.ID)
			}
			return
		}
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("Lookup(%q) = %q, %v; want ErrNotFound", tok, got.ID, err)
		}
	})
}
