package engine

import (
	"net/url"
	"path/filepath"
)

// joinSafe joins path components that link already validated (no "..",
// no separators, no absolute paths).
func joinSafe(base string, parts ...string) string {
	return filepath.Join(append([]string{base}, parts...)...)
}

func parentDir(p string) string { return filepath.Dir(p) }

func queryEscape(s string) string { return url.QueryEscape(s) }
