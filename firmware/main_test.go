package firmware

import (
	"fmt"
	"os"
	"testing"
)

// binDir holds the binaries built by build, shared by the tests of one run.
var binDir string

func TestMain(m *testing.M) {
	var err error
	binDir, err = os.MkdirTemp("", "hearth-firmware-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// requireRoot fails the test when not root and HEARTH_TEST_REQUIRE_ROOT=1
// (make test), and skips it otherwise.
func requireRoot(t *testing.T, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("HEARTH_TEST_REQUIRE_ROOT") == "1" {
		t.Fatalf("needs root: %s", why)
	}
	t.Skipf("needs root: %s", why)
}
