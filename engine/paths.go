package engine

import "path/filepath"

// joinSafe joins path components that link already validated (no "..",
// no separators, no absolute paths).
func joinSafe(base string, parts ...string) string {
	return filepath.Join(append([]string{base}, parts...)...)
}
