package link

import (
	"strings"
	"testing"
)

func TestSafePath(t *testing.T) {
	good := [][]string{
		{"a"},
		{"album", "sub", "b.txt"},
		{"...", "..a", "a..", ".hidden"},
		{"café", "日本語", "emoji 😀"},
		{"CON", "a:b", "trailing.", "sp ace "}, // only Windows forbids these
		{strings.Repeat("x", 255)},
		slicesRepeat("a", 2048), // 2048 + 2047 slashes = 4095 bytes
	}
	for _, p := range good {
		if err := SafePath(p); err != nil {
			t.Errorf("SafePath(%q) = %v, want nil", clip(strings.Join(p, "/")), err)
		}
	}
	bad := [][]string{
		nil,
		{},
		{""},
		{"a", ""},
		{"."},
		{".."},
		{"a", "..", "b"},
		{"/etc"},
		{"a/b"},
		{`a\b`},
		{`C:\x`},
		{"a\x00"},
		{"a\nb"},
		{"a\x7f"},
		{"a\u0085b"}, // C1 control
		{"\xff"},
		{strings.Repeat("x", 256)},
		slicesRepeat("ab", 1366), // 1366*3-1 = 4097 bytes
	}
	for _, p := range bad {
		err := SafePath(p)
		wantErr(t, "SafePath("+clip(strings.Join(p, "/"))+")", err, ErrUnsafePath)
	}
}

func TestSafePathMessageNamesPath(t *testing.T) {
	err := SafePath([]string{"music", "..", "etc"})
	if err == nil || !strings.Contains(err.Error(), `"music/../etc"`) {
		t.Errorf("SafePath error = %v, want it to name \"music/../etc\"", err)
	}
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}
