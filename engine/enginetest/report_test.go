package enginetest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReport(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HEARTH_REPORT_DIR", dir)
	t.Setenv("HEARTH_RELIABILITY", "")
	Report(t, "99-example", "## Example\n\nfigures: 1\n\n")
	b, err := os.ReadFile(filepath.Join(dir, "99-example.md"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "## Example\n\nfigures: 1\n\n_Run: bounded form._\n"; got != want {
		t.Errorf("fragment = %q, want %q", got, want)
	}

	t.Setenv("HEARTH_REPORT_DIR", "")
	Report(t, "98-nothing", "## Nothing")
	if _, err := os.Stat(filepath.Join(dir, "98-nothing.md")); !os.IsNotExist(err) {
		t.Errorf("fragment written without HEARTH_REPORT_DIR: %v", err)
	}
}

func TestRounds(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want int
	}{{"", 5}, {"full", 20}, {"other", 5}} {
		t.Setenv("HEARTH_RELIABILITY", tc.env)
		if got := Rounds(5, 20); got != tc.want {
			t.Errorf("Rounds(5, 20) with HEARTH_RELIABILITY=%q = %d, want %d", tc.env, got, tc.want)
		}
	}
}
