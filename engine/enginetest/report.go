package enginetest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The reliability suite (docs/reliability.md, scripts/reliability.sh) is
// made of tests named TestReliability* in any package. Each runs in a
// bounded form in the normal `go test ./...` and in its full form when
// HEARTH_RELIABILITY=full; when HEARTH_REPORT_DIR is set it writes one
// markdown fragment there with Report, which the script puts together
// into docs/reliability.md in name order.

// Full reports whether the reliability tests run in their full form
// (HEARTH_RELIABILITY=full): more cycles, longer campaigns.
func Full() bool { return os.Getenv("HEARTH_RELIABILITY") == "full" }

// Rounds returns bounded in normal runs and full with HEARTH_RELIABILITY=full.
func Rounds(bounded, full int) int {
	if Full() {
		return full
	}
	return bounded
}

// Report writes markdown to $HEARTH_REPORT_DIR/<name>.md when that
// variable is set, and does nothing otherwise. name orders the fragments
// in the report ("20-powercut"); markdown starts with a "## " heading that
// says what the test does, followed by the figures it measured. A failed
// test writes no fragment: the report shows only figures of passing runs.
func Report(t testing.TB, name, markdown string) {
	t.Helper()
	dir := os.Getenv("HEARTH_REPORT_DIR")
	if dir == "" {
		return
	}
	if t.Failed() {
		t.Logf("report %s: not written, the test failed", name)
		return
	}
	if strings.ContainsAny(name, `/\`) || name == "" || name[0] == '.' {
		t.Errorf("report name %q: want a plain file name such as 20-powercut", name)
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("report %s: %v", name, err)
		return
	}
	md := strings.TrimSpace(markdown) + "\n"
	mode := "full"
	if !Full() {
		mode = "bounded"
	}
	md += "\n_Run: " + mode + " form._\n"
	if err := os.WriteFile(filepath.Join(dir, name+".md"), []byte(md), 0o644); err != nil {
		t.Errorf("report %s: %v", name, err)
	}
}
