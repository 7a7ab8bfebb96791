package firmware

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestS99hearth runs buildroot/package/hearth/S99hearth with the real
// binary: start, restart, stop, under Debian's dash with its
// start-stop-daemon and under BusyBox ash with BusyBox's applets (what a
// Buildroot image has). Only two paths differ from the shipped script:
// /etc/default/ and /var/run/ point into a temporary folder; everything
// else comes through /etc/default/hearth as on a device. The daemon runs
// as "nobody" (the image has a "hearth" user).
func TestS99hearth(t *testing.T) {
	requireRoot(t, "start-stop-daemon -c switches to the daemon's user")
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("user nobody: %v", err)
	}
	bin := build(t, binDir, "amd64", []string{"GOARCH=amd64"})
	shells := []struct {
		name string
		sh   []string
		path func(t *testing.T) string
	}{
		{"dash", []string{"/bin/sh"}, func(*testing.T) string { return "/usr/sbin:/usr/bin:/sbin:/bin" }},
		{"busybox", []string{"busybox", "ash"}, busyboxPath},
	}
	for _, sh := range shells {
		t.Run(sh.name, func(t *testing.T) {
			if _, err := exec.LookPath(sh.sh[0]); err != nil {
				t.Fatalf("%s not found: install it (scripts/test-deps.sh does)", sh.sh[0])
			}
			base := worldReadableDir(t)
			for _, d := range []string{"bin", "etc/default", "run"} {
				if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			hearth := filepath.Join(base, "bin", "hearth")
			copyFile(t, bin, hearth, 0o755)
			dataDir := filepath.Join(base, "usb disk", "hearth") // missing: the script creates it
			conf, err := os.ReadFile("../buildroot/package/hearth/hearth.conf")
			if err != nil {
				t.Fatal(err)
			}
			confText := strings.Replace(string(conf), "data_dir = /var/lib/hearth", "data_dir = "+dataDir, 1)
			if confText == string(conf) {
				t.Fatal("hearth.conf has no line data_dir = /var/lib/hearth")
			}
			confPath := filepath.Join(base, "etc", "hearth.conf")
			writeFile(t, confPath, confText, 0o644)
			listen := "127.0.0.1:" + strconv.Itoa(freePort(t))
			writeFile(t, filepath.Join(base, "etc", "default", "hearth"), fmt.Sprintf(`HEARTH_BIN=%q
HEARTH_CONFIG=%q
HEARTH_USER=nobody
HEARTH_ARGS="--listen %s --peer-port %d"
export HEARTH_TORRENT_DHT=false HEARTH_TORRENT_PORT_FORWARDING=false HEARTH_TORRENT_IPV6=false
export HEARTH_DEVICE_MDNS=false HEARTH_CHANNELS_LAN=false
`, hearth, confPath, listen, freePort(t)), 0o644)

			script := initScript(t, "../buildroot/package/hearth/S99hearth", map[string]string{
				`[ -r "/etc/default/$DAEMON" ] && . "/etc/default/$DAEMON"`: fmt.Sprintf(`[ -r "%s/etc/default/$DAEMON" ] && . "%s/etc/default/$DAEMON"`, base, base),
				`PIDFILE="/var/run/$DAEMON.pid"`:                            fmt.Sprintf(`PIDFILE="%s/run/$DAEMON.pid"`, base),
			})
			scriptPath := filepath.Join(base, "S99hearth")
			writeFile(t, scriptPath, script, 0o644)
			pidfile := filepath.Join(base, "run", "hearth.pid")
			env := []string{"PATH=" + sh.path(t), "HOME=" + base}
			run := func(arg string) (string, error) {
				cmd := exec.Command(sh.sh[0], append(sh.sh[1:], scriptPath, arg)...)
				cmd.Env = env
				out, err := cmd.CombinedOutput()
				return string(out), err
			}
			t.Cleanup(func() { // never leave a daemon behind
				if pid := readPid(pidfile); pid > 0 {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			})

			out, err := run("start")
			if err != nil || !strings.Contains(out, "Starting hearth: OK") {
				t.Fatalf("S99hearth start = %q, %v; want Starting hearth: OK", out, err)
			}
			pid := waitAPI(t, "http://"+listen, pidfile)
			if uid := procUID(t, pid); uid != nobody.Uid {
				t.Errorf("daemon runs as uid %s, want nobody (%s)", uid, nobody.Uid)
			}
			st, err := os.Stat(dataDir)
			if err != nil {
				t.Fatalf("data dir: %v", err)
			}
			if uid := strconv.Itoa(int(st.Sys().(*syscall.Stat_t).Uid)); uid != nobody.Uid {
				t.Errorf("data dir owner uid %s, want nobody (%s)", uid, nobody.Uid)
			}
			if _, err := os.Stat(filepath.Join(dataDir, "state")); err != nil {
				t.Errorf("no state in the data dir named by the config: %v", err)
			}

			out, err = run("restart")
			if err != nil || !strings.Contains(out, "Stopping hearth: OK") || !strings.Contains(out, "Starting hearth: OK") {
				t.Fatalf("S99hearth restart = %q, %v; want stop and start OK", out, err)
			}
			pid2 := waitAPI(t, "http://"+listen, pidfile)
			if pid2 == pid || processAlive(pid) {
				t.Errorf("after restart pid %d (before %d, still alive: %v), want a new process and the old one gone", pid2, pid, processAlive(pid))
			}

			// reload = SIGHUP: the daemon restarts in place, same PID.
			out, err = run("reload")
			if err != nil || !strings.Contains(out, "Reloading hearth: OK") {
				t.Fatalf("S99hearth reload = %q, %v; want Reloading hearth: OK", out, err)
			}
			time.Sleep(500 * time.Millisecond)
			if pid3 := waitAPI(t, "http://"+listen, pidfile); pid3 != pid2 || !processAlive(pid2) {
				t.Errorf("after reload pid %d (before %d, alive: %v), want the same process", pid3, pid2, processAlive(pid2))
			}

			out, err = run("stop")
			if err != nil || !strings.Contains(out, "Stopping hearth: OK") {
				t.Fatalf("S99hearth stop = %q, %v; want Stopping hearth: OK", out, err)
			}
			if processAlive(pid2) {
				t.Errorf("daemon %d still running after stop", pid2)
			}
			if _, err := os.Stat(pidfile); !os.IsNotExist(err) {
				t.Errorf("pidfile after stop: %v, want it removed", err)
			}
			if resp, err := http.Get("http://" + listen + "/api/v1/version"); err == nil {
				resp.Body.Close()
				t.Errorf("API still answers after stop")
			}

			out, err = run("bogus")
			if err == nil || !strings.Contains(out, "Usage:") {
				t.Errorf("S99hearth bogus = %q, %v; want usage and exit 1", out, err)
			}
		})
	}
}

// busyboxPath makes a folder of BusyBox applet links, so the script sees
// BusyBox's tools only, as on a Buildroot image.
func busyboxPath(t *testing.T) string {
	t.Helper()
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatal("busybox not found: install it (scripts/test-deps.sh does)")
	}
	dir := filepath.Join(t.TempDir(), "bb")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "start-stop-daemon", "awk", "sed", "cat", "chown", "mkdir", "rm", "sleep", "kill", "printf", "echo"} {
		if err := os.Symlink(bb, filepath.Join(dir, applet)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// initScript reads a shipped init script and makes the given replacements,
// each of which must apply exactly once.
func initScript(t *testing.T, path string, repl map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for old, new := range repl {
		if n := strings.Count(s, old); n != 1 {
			t.Fatalf("%s: %q occurs %d times, want once", path, old, n)
		}
		s = strings.Replace(s, old, new, 1)
	}
	return s
}

// worldReadableDir is a temporary folder the daemon's user can reach.
func worldReadableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hearth-init-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeFile(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(b), mode)
}

func readPid(pidfile string) int {
	b, err := os.ReadFile(pidfile)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// A zombie (state Z) has exited; its parent has not reaped it yet.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

// waitAPI waits until the daemon named by pidfile answers and returns its pid.
func waitAPI(t *testing.T, api, pidfile string) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(api + "/api/v1/version")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if pid := readPid(pidfile); processAlive(pid) {
					return pid
				}
				t.Fatalf("API answers but pidfile %s names no live process", pidfile)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("daemon did not answer on %s within 30 s", api)
	return 0
}

func procUID(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Uid:"); ok {
			return strings.Fields(v)[0]
		}
	}
	t.Fatalf("no Uid in /proc/%d/status", pid)
	return ""
}
