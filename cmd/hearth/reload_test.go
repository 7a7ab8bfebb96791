package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeReloadOnSIGHUP: SIGHUP restarts the daemon in place (same PID)
// with the edited config file; a config with errors is refused and the
// daemon keeps running on the old one.
func TestServeReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "hearth.conf")
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("[limits]\ndownload_kbps = 100\n")
	d := startDaemonProc(t, dir)
	source := "file " + conf + ":2"
	if out := d.mustCLI("config"); !hasRow(out, "limits.download_kbps", "100", source) {
		t.Fatalf("config before reload lacks download_kbps 100 from %s:\n%s", source, out)
	}

	waitLog := func(want string, n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for strings.Count(d.logs.String(), want) < n {
			if time.Now().After(deadline) {
				t.Fatalf("daemon log does not show %q %d times within 30 s", want, n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitAPI := func() {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			select {
			case err := <-d.done:
				t.Fatalf("hearth serve exited on SIGHUP: %v", err)
			default:
			}
			if resp, err := http.Get(d.api + "/api/v1/version"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("API did not come back within 30 s of SIGHUP")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// A valid edit: the daemon restarts in place and uses it.
	write("[limits]\ndownload_kbps = 250\n")
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog("reload: restarting in place", 1)
	waitLog("hearth started", 2)
	waitAPI()
	if out := d.mustCLI("config"); !hasRow(out, "limits.download_kbps", "250", source) {
		t.Errorf("config after reload lacks download_kbps 250 from %s:\n%s", source, out)
	}

	// An edit with an error: refused, the daemon keeps its configuration.
	write("[limits]\ndownload_kbps = -5\n")
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog("reload refused", 1)
	waitAPI()
	if out := d.mustCLI("config"); !hasRow(out, "limits.download_kbps", "250", source) {
		t.Errorf("config after a refused reload changed:\n%s", out)
	}
	if strings.Count(d.logs.String(), "hearth started") != 2 {
		t.Errorf("a refused reload restarted the daemon")
	}
	d.stop()
}
