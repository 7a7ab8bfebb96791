package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hearth-media/hearth/engine/enginetest"
)

func TestMain(m *testing.M) {
	// In-process "serve" starts the engine, which must run with classic
	// file IO like the real daemon (fileio.go).
	enginetest.ClassicFileIO()
	code := m.Run()
	cleanupBinary()
	os.Exit(code)
}

// runHearth runs the CLI in-process.
func runHearth(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runHearthIn(t, "", args...)
}

func runHearthIn(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// closedAPI is the URL of a port nothing listens on.
func closedAPI(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestOverview(t *testing.T) {
	for _, args := range [][]string{nil, {"help"}, {"--help"}, {"-h"}} {
		code, out, errOut := runHearth(t, args...)
		if code != 0 || errOut != "" {
			t.Errorf("hearth %v = exit %d, stderr %q; want 0 and nothing on stderr", args, code, errOut)
		}
		for _, c := range commands() {
			if !strings.Contains(out, "\n  "+c.name+" ") {
				t.Errorf("hearth %v: overview does not list %q:\n%s", args, c.name, out)
			}
		}
	}
}

// TestHelpEveryCommand checks that every command teaches: usage line,
// description, every flag, and examples, from --help, -h and "help CMD".
func TestHelpEveryCommand(t *testing.T) {
	want := []string{"serve", "add", "ls", "info", "pause", "resume", "rm", "verify", "set", "config", "passwd", "pair", "devices", "discover", "channel", "subscribe", "unsubscribe", "subscriptions", "share", "version", "help"}
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	if !slices.Equal(names, want) {
		t.Errorf("commands = %v, want %v", names, want)
	}
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runHearth(t, c.name, "--help")
			if code != 0 || errOut != "" {
				t.Fatalf("hearth %s --help = exit %d, stderr %q; want 0", c.name, code, errOut)
			}
			if !strings.HasPrefix(out, "Usage: hearth "+c.name) {
				t.Errorf("help does not start with the usage line:\n%s", out)
			}
			if !strings.Contains(out, "Examples:\n  hearth") && !(c.name == "serve" && strings.Contains(out, "Examples:\n")) {
				t.Errorf("help has no examples:\n%s", out)
			}
			if len(strings.TrimSpace(c.long)) < 80 {
				t.Errorf("description is %d characters: say what the command does", len(strings.TrimSpace(c.long)))
			}
			fs := flag.NewFlagSet("", flag.ContinueOnError)
			c.setup(fs, &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard})
			fs.VisitAll(func(f *flag.Flag) {
				if !strings.Contains(out, "  --"+f.Name) {
					t.Errorf("help does not list --%s", f.Name)
				}
			})
			for _, alt := range [][]string{{c.name, "-h"}, {"help", c.name}} {
				if _, out2, _ := runHearth(t, alt...); out2 != out {
					t.Errorf("hearth %v differs from --help:\n%s", alt, out2)
				}
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	api := closedAPI(t) // a usage error must be reported before any request
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"--json", "ls"}, "flags go after it"},
		{[]string{"add"}, "add takes one torrent"},
		{[]string{"add", "a.torrent", "b.torrent"}, "got 2 arguments"},
		{[]string{"add", "--bogus", "x"}, "unknown flag: --bogus"},
		{[]string{"add", "not a link"}, "is not a magnet link"},
		{[]string{"add", "ftp://127.0.0.1/x.torrent"}, "not supported"},
		{[]string{"add", "--files", "1,x", strings.Repeat("ab", 20)}, "--files"},
		{[]string{"add", strings.Repeat("ab", 20), "--dir"}, "flag needs a value: --dir"},
		{[]string{"ls", "extra"}, "ls takes no arguments"},
		{[]string{"ls", "--api", "ftp://127.0.0.1"}, "--api"},
		{[]string{"info"}, "info takes one torrent"},
		{[]string{"pause"}, "at least one torrent"},
		{[]string{"pause", "--all", "3"}, "not both"},
		{[]string{"resume"}, "at least one torrent"},
		{[]string{"verify"}, "at least one torrent"},
		{[]string{"rm"}, "at least one torrent"},
		{[]string{"set", "3"}, "nothing to set"},
		{[]string{"set", "--down-limit", "5"}, "give a torrent ID"},
		{[]string{"set", "3", "--max-seeds", "2"}, "--max-seeds is a global setting"},
		{[]string{"set", "--global", "--want", "1"}, "--want applies to a torrent"},
		{[]string{"set", "--global", "3", "--up-limit", "1"}, "give no torrent"},
		{[]string{"set", "3", "--seed-ratio", "lots"}, "--seed-ratio"},
		{[]string{"set", "--global", "--seed-ratio", "global"}, "only for a torrent"},
		{[]string{"set", "3", "--seed-idle", "forever"}, "--seed-idle"},
		{[]string{"set", "3", "--down-limit", "-1"}, "must be 0 or more"},
		{[]string{"set", "3", "--down-limit", "fast"}, "invalid value"},
		{[]string{"set", "3", "--priority", "urgent:1"}, "low, normal or high"},
		{[]string{"set", "3", "--priority", "high"}, "LEVEL:INDEXES"},
		{[]string{"set", "3", "--want", "all", "--skip", "all"}, "contradict"},
		{[]string{"config", "--data-dir", "/x"}, "use it with --local"},
		{[]string{"config", "--local", "--api", "http://127.0.0.1:1"}, "exclude each other"},
		{[]string{"version", "extra"}, "no arguments"},
		{[]string{"serve", "extra"}, "no arguments"},
		{[]string{"help", "nope"}, `unknown command "nope"`},
	}
	for _, tc := range tests {
		args := tc.args
		if len(args) > 0 && findCommand(args[0]) != nil && args[0] != "serve" && args[0] != "version" && args[0] != "help" && !slices.Contains(args, "--api") && !slices.Contains(args, "--local") {
			args = append(slices.Clone(args[:1]), append([]string{"--api", api}, args[1:]...)...)
		}
		code, out, errOut := runHearth(t, args...)
		if code != exitUsage {
			t.Errorf("hearth %v = exit %d (stderr %q), want %d", tc.args, code, errOut, exitUsage)
			continue
		}
		if out != "" {
			t.Errorf("hearth %v: stdout %q, want nothing", tc.args, out)
		}
		if !strings.HasPrefix(errOut, "hearth: ") || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, tc.wantErr) {
			t.Errorf("hearth %v: stderr %q, want one line \"hearth: …%s…\"", tc.args, errOut, tc.wantErr)
		}
	}
}

func TestUnreachableDaemon(t *testing.T) {
	api := closedAPI(t)
	want := fmt.Sprintf("hearth: cannot reach the hearth daemon at %s (is \"hearth serve\" running?)\n", api)
	cmds := [][]string{
		{"ls"}, {"ls", "--json"}, {"info", "1"}, {"add", strings.Repeat("ab", 20)},
		{"pause", "1"}, {"resume", "--all"}, {"resume", "1", "--now"}, {"rm", "1", "2"}, {"verify", "1"},
		{"set", "1", "--up-limit", "5"}, {"set", "--global", "--up-limit", "5"}, {"config"},
	}
	for _, args := range cmds {
		code, out, errOut := runHearth(t, append(args, "--api", api)...)
		if code != exitUnreachable || errOut != want || out != "" {
			t.Errorf("hearth %v = exit %d, stdout %q, stderr %q; want %d and %q", args, code, out, errOut, exitUnreachable, want)
		}
	}
	// $HEARTH_API is the default of --api.
	t.Setenv("HEARTH_API", api)
	if code, _, errOut := runHearth(t, "ls"); code != exitUnreachable || errOut != want {
		t.Errorf("hearth ls with HEARTH_API = exit %d, stderr %q; want %d and %q", code, errOut, exitUnreachable, want)
	}
}

func TestDefaultAPIMessage(t *testing.T) {
	e := &unreachableError{api: defaultAPI}
	want := `cannot reach the hearth daemon at http://127.0.0.1:9091 (is "hearth serve" running?)`
	if e.Error() != want {
		t.Errorf("message = %q, want %q", e.Error(), want)
	}
}

func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		args      []string
		wantPos   []string
		wantWait  bool
		wantDir   string
		wantPeers []string
	}{
		{[]string{"x.torrent", "--wait"}, []string{"x.torrent"}, true, "", nil},
		{[]string{"--wait", "x.torrent"}, []string{"x.torrent"}, true, "", nil},
		{[]string{"--dir", "/d", "a", "--peer", "1.2.3.4:5", "b", "--wait", "--peer=[::1]:6"}, []string{"a", "b"}, true, "/d", []string{"1.2.3.4:5", "[::1]:6"}},
		{[]string{"a", "--", "--wait", "-"}, []string{"a", "--wait", "-"}, false, "", nil},
		{[]string{"-", "--wait"}, []string{"-"}, true, "", nil},
		{[]string{"-dir=/x", "a"}, []string{"a"}, false, "/x", nil},
		{nil, nil, false, "", nil},
	}
	for _, tc := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		wait := fs.Bool("wait", false, "")
		dir := fs.String("dir", "", "")
		var peers stringList
		fs.Var(&peers, "peer", "")
		pos, err := parseInterleaved(fs, tc.args)
		if err != nil {
			t.Errorf("parseInterleaved(%q): %v", tc.args, err)
			continue
		}
		if !slices.Equal(pos, tc.wantPos) || *wait != tc.wantWait || *dir != tc.wantDir || !slices.Equal(peers, tc.wantPeers) {
			t.Errorf("parseInterleaved(%q) = %q wait=%v dir=%q peers=%q, want %q %v %q %q", tc.args, pos, *wait, *dir, peers, tc.wantPos, tc.wantWait, tc.wantDir, tc.wantPeers)
		}
	}
}

func TestClassifyAdd(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "real.torrent")
	os.WriteFile(file, []byte("d4:infode"), 0o644)
	odd := filepath.Join(dir, "magnet:odd name") // a file wins over every other reading
	os.WriteFile(odd, []byte("x"), 0o644)
	isFile := func(p string) bool { st, err := os.Stat(p); return err == nil && !st.IsDir() }
	hex := strings.Repeat("0123456789", 4)
	tests := []struct {
		arg       string
		wantKind  string
		wantUsage bool // an error that is a usage error
		wantErr   bool // any error
	}{
		{"-", "stdin", false, false},
		{file, "file", false, false},
		{odd, "file", false, false},
		{"magnet:?xt=urn:btih:" + hex, "magnet", false, false},
		{"MAGNET:?xt=urn:btih:" + hex, "magnet", false, false},
		{hex, "magnet", false, false},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "magnet", false, false},
		{"https://example.org/a.torrent", "url", false, false},
		{"http://127.0.0.1:8080/get?id=3", "url", false, false},
		{filepath.Join(dir, "missing.torrent"), "", false, true},
		{dir + "/", "", true, true},
		{"ftp://host/x.torrent", "", true, true},
		{"hello", "", true, true},
	}
	for _, tc := range tests {
		kind, err := classifyAdd(tc.arg, isFile)
		var ue *usageError
		isUsage := err != nil && asUsage(err, &ue)
		if kind != tc.wantKind || (err != nil) != tc.wantErr || isUsage != tc.wantUsage {
			t.Errorf("classifyAdd(%q) = %q, %v; want %q, error %v (usage %v)", tc.arg, kind, err, tc.wantKind, tc.wantErr, tc.wantUsage)
		}
	}
}

func asUsage(err error, ue **usageError) bool {
	u, ok := err.(*usageError)
	*ue = u
	return ok
}

func TestAddReadsStdin(t *testing.T) {
	// An empty stdin is refused before any request.
	code, _, errOut := runHearthIn(t, "", "add", "-", "--api", closedAPI(t))
	if code != exitFailed || !strings.Contains(errOut, "standard input is empty") {
		t.Errorf("hearth add - with empty stdin = exit %d, %q; want 1 and \"standard input is empty\"", code, errOut)
	}
}

// TestServeListenAddress: with access control in place the daemon
// listens on every interface by default (it used to refuse anything but
// loopback; TestPairFromLAN covers a LAN caller end to end), and a listen
// address that is not HOST:PORT is still a config error naming the flag.
func TestServeListenAddress(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	code, out, _ := runHearth(t, "config", "--local", "--data-dir", dir)
	if code != exitOK || !strings.Contains(out, ":9091") {
		t.Errorf("hearth config --local = exit %d, want the default listen :9091 in:\n%s", code, out)
	}
	for _, listen := range []string{"9091", "0.0.0.0:99999", "[::1:9091"} {
		code, _, errOut := runHearth(t, "serve", "--data-dir", dir, "--listen", listen)
		if code != exitFailed || !strings.Contains(errOut, "--listen") {
			t.Errorf("serve --listen %s = exit %d, stderr %q; want 1 and an error naming --listen", listen, code, errOut)
		}
	}
}

func TestServeConfigErrors(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	tests := []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"--profile", "toaster"}, nil, "profile"},
		{[]string{"--peer-port", "99999"}, nil, "--peer-port"},
		{nil, []string{"HEARTH_LOG_LEVEL", "loud"}, "HEARTH_LOG_LEVEL"},
		{[]string{"--config", filepath.Join(dir, "missing.conf")}, nil, "missing.conf"},
	}
	for _, tc := range tests {
		if tc.env != nil {
			t.Setenv(tc.env[0], tc.env[1])
		}
		code, _, errOut := runHearth(t, append([]string{"serve", "--data-dir", dir}, tc.args...)...)
		if code != exitFailed || !strings.HasPrefix(errOut, "hearth: config: ") || !strings.Contains(errOut, tc.want) {
			t.Errorf("serve %v %v = exit %d, stderr %q; want 1 and a config error naming %q", tc.args, tc.env, code, errOut, tc.want)
		}
		if tc.env != nil {
			os.Unsetenv(tc.env[0])
		}
	}
}

func TestConfigLocal(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("HEARTH_TORRENT_DHT", "false")
	code, out, errOut := runHearth(t, "config", "--local", "--profile", "router", "--data-dir", dir, "--peer-port", "6881")
	if code != 0 {
		t.Fatalf("config --local = exit %d, %s", code, errOut)
	}
	for _, want := range []string{
		"KEY ", "VALUE ", "SOURCE",
		"profile ", "router", "flag --profile",
		"torrent.peer_port", "6881", "flag --peer-port",
		"torrent.dht ", "false", "env HEARTH_TORRENT_DHT",
		"queue.max_downloads", "default profile router",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("config --local output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runHearth(t, "config", "--local", "--json", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, `"key": "data_dir"`) || !strings.Contains(out, `"source": "flag --data-dir"`) {
		t.Errorf("config --local --json = %d\n%s", code, out)
	}
}

func TestVersionCommand(t *testing.T) {
	code, out, _ := runHearth(t, "version")
	if code != 0 || !strings.HasPrefix(out, "hearth ") || !strings.Contains(out, "store backends: ") || !strings.Contains(out, "go1.") {
		t.Errorf("hearth version = %d\n%s", code, out)
	}
	code, out, _ = runHearth(t, "version", "--json")
	if code != 0 || !strings.Contains(out, `"storeBackends": [`) || !strings.Contains(out, `"goVersion": "go1.`) {
		t.Errorf("hearth version --json = %d\n%s", code, out)
	}
	if code2, out2, _ := runHearth(t, "--version"); code2 != 0 || !strings.HasPrefix(out2, "hearth ") {
		t.Errorf("hearth --version = %d %q", code2, out2)
	}
}
