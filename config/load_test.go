package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t *testing.T, o LoadOptions) (*Config, Sources) {
	t.Helper()
	c, s, err := Load(o)
	if err != nil {
		t.Fatalf("Load(%+v): %v", o, err)
	}
	return c, s
}

// TestLoadPrecedence sets torrent.peer_port in more and more layers; the
// latest layer must win and be reported as the source.
func TestLoadPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "hearth.conf", "version = 1\n\n[torrent]\npeer_port = 1001\n")
	env := []string{"HOME=" + dir, "HEARTH_TORRENT_PEER_PORT=1003"}
	tests := []struct {
		name       string
		o          LoadOptions
		want       int
		kind, from string
	}{
		{"default", LoadOptions{Env: []string{"HOME=" + dir}}, 51413, SourceDefault, "profile desktop"},
		{"file", LoadOptions{File: file}, 1001, SourceFile, file + ":4"},
		{"runtime over file", LoadOptions{File: file, Runtime: map[string]string{"torrent.peer_port": "1002"}}, 1002, SourceAPI, "saved setting"},
		{"env over runtime", LoadOptions{File: file, Env: env, Runtime: map[string]string{"torrent.peer_port": "1002"}}, 1003, SourceEnv, "HEARTH_TORRENT_PEER_PORT"},
		{"flag over env", LoadOptions{File: file, Env: env, Runtime: map[string]string{"torrent.peer_port": "1002"},
			Flags: map[string]string{"torrent.peer_port": "1004"}}, 1004, SourceFlag, "--torrent.peer_port"},
		{"flag name", LoadOptions{Flags: map[string]string{"torrent.peer_port": "1004"},
			FlagNames: map[string]string{"torrent.peer_port": "--peer-port"}}, 1004, SourceFlag, "--peer-port"},
		{"env alias", LoadOptions{Env: []string{"HEARTH_PEER_PORT=1005"}}, 1005, SourceEnv, "HEARTH_PEER_PORT"},
		{"alias agrees with canonical", LoadOptions{Env: []string{"HEARTH_PEER_PORT=1006", "HEARTH_TORRENT_PEER_PORT=1006"}}, 1006, SourceEnv, "HEARTH_TORRENT_PEER_PORT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := mustLoad(t, tt.o)
			if c.Torrent.PeerPort != tt.want {
				t.Errorf("peer_port = %d, want %d", c.Torrent.PeerPort, tt.want)
			}
			if got, want := s["torrent.peer_port"], (Source{tt.kind, tt.from}); got != want {
				t.Errorf("source = %+v, want %+v", got, want)
			}
			// Keys no layer touched stay with the default.
			if got := s["queue.max_seeds"]; got.Kind != SourceDefault {
				t.Errorf("queue.max_seeds source = %+v, want default", got)
			}
		})
	}
}

// Every layer can set every type; each layer's sources are its own.
func TestLoadLayersAllTypes(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "f.conf", `
log.level = debug
[torrent]
dht_bootstrap = ["x:1", "y:2"]
[queue]
seed_ratio = 1.25
`)
	c, s := mustLoad(t, LoadOptions{
		File:    file,
		Runtime: map[string]string{"queue.seed_idle": "1h30m0s", "limits.upload_kbps": "100"},
		Env:     []string{"HEARTH_TORRENT_DHT=off", "HEARTH_DATA_DIR=/srv/h", "PATH=/bin", "HEARTH_API=http://x", "HEARTH_CONFIG=/nope", "HEARTH_TEST_DEBUG=1"},
		Flags:   map[string]string{"listen": "0.0.0.0:8080", "torrent.dht_bootstrap": "z:3"},
	})
	want := mustDefault(t, "desktop")
	want.Log.Level = "debug"
	want.Torrent.DHTBootstrap = []string{"z:3"}
	want.Queue.SeedRatio = 1.25
	want.Queue.SeedIdle = 90 * time.Minute
	want.Limits.UploadKBps = 100
	want.Torrent.DHT = false
	want.DataDir = "/srv/h"
	want.Listen = "0.0.0.0:8080"
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load() =\n%+v\nwant\n%+v", c, want)
	}
	wantSrc := map[string]Source{
		"log.level":             {SourceFile, file + ":2"},
		"queue.seed_ratio":      {SourceFile, file + ":6"},
		"queue.seed_idle":       {SourceAPI, "saved setting"},
		"limits.upload_kbps":    {SourceAPI, "saved setting"},
		"torrent.dht":           {SourceEnv, "HEARTH_TORRENT_DHT"},
		"data_dir":              {SourceEnv, "HEARTH_DATA_DIR"},
		"listen":                {SourceFlag, "--listen"},
		"torrent.dht_bootstrap": {SourceFlag, "--torrent.dht_bootstrap"},
		"version":               {SourceDefault, "profile desktop"},
		"profile":               {SourceDefault, "profile desktop"},
	}
	for k, w := range wantSrc {
		if s[k] != w {
			t.Errorf("source of %s = %+v, want %+v", k, s[k], w)
		}
	}
	if len(s) != len(Keys()) {
		t.Errorf("len(Sources) = %d, want one per key (%d)", len(s), len(Keys()))
	}
}

func TestLoadProfile(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "hearth.conf", "profile = router\n[torrent]\nhashers = 3\n")
	tests := []struct {
		name string
		o    LoadOptions
		want string
		src  Source
	}{
		{"none", LoadOptions{}, "desktop", Source{SourceDefault, "profile desktop"}},
		{"file", LoadOptions{File: file}, "router", Source{SourceFile, file + ":1"}},
		{"env over file", LoadOptions{File: file, Env: []string{"HEARTH_PROFILE=tv"}}, "tv", Source{SourceEnv, "HEARTH_PROFILE"}},
		{"flag over env", LoadOptions{File: file, Env: []string{"HEARTH_PROFILE=tv"}, Flags: map[string]string{"profile": "nas"}}, "nas", Source{SourceFlag, "--profile"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s := mustLoad(t, tt.o)
			if c.Profile != tt.want || s["profile"] != tt.src {
				t.Errorf("profile = %q from %+v, want %q from %+v", c.Profile, s["profile"], tt.want, tt.src)
			}
			// The chosen profile's defaults apply under the file's values.
			d := mustDefault(t, tt.want)
			if c.Torrent.ConnsPerTorrent != d.Torrent.ConnsPerTorrent || s["torrent.conns_per_torrent"].Detail != "profile "+tt.want {
				t.Errorf("conns_per_torrent = %d from %+v, want %d from profile %s", c.Torrent.ConnsPerTorrent, s["torrent.conns_per_torrent"], d.Torrent.ConnsPerTorrent, tt.want)
			}
			if tt.o.File != "" && c.Torrent.Hashers != 3 {
				t.Errorf("hashers = %d, want the file's 3 over profile %s", c.Torrent.Hashers, tt.want)
			}
		})
	}
}

// Without an explicit file, DATA_DIR/hearth.conf is read when it exists.
func TestLoadImplicitFile(t *testing.T) {
	home := t.TempDir()
	xdg := filepath.Join(home, "xdg")
	other := t.TempDir()
	for _, d := range []string{filepath.Join(home, ".local", "share", "hearth"), filepath.Join(xdg, "hearth")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(home, ".local", "share", "hearth"), FileName, "log.level = warn\n")
	writeFile(t, filepath.Join(xdg, "hearth"), FileName, "log.level = error\n")
	writeFile(t, other, FileName, "log.level = debug\n")
	tests := []struct {
		name string
		o    LoadOptions
		want string
	}{
		{"home", LoadOptions{Env: []string{"HOME=" + home}}, "warn"},
		{"xdg", LoadOptions{Env: []string{"HOME=" + home, "XDG_DATA_HOME=" + xdg}}, "error"},
		{"env data dir", LoadOptions{Env: []string{"HOME=" + home, "HEARTH_DATA_DIR=" + other}}, "debug"},
		{"flag data dir", LoadOptions{Env: []string{"HOME=" + home, "HEARTH_DATA_DIR=/nonexistent"}, Flags: map[string]string{"data_dir": other}}, "debug"},
		{"no file there", LoadOptions{Env: []string{"HOME=" + home}, Flags: map[string]string{"data_dir": t.TempDir()}}, "info"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := mustLoad(t, tt.o)
			if c.Log.Level != tt.want {
				t.Errorf("log.level = %q, want %q", c.Log.Level, tt.want)
			}
		})
	}
	c, _ := mustLoad(t, LoadOptions{Env: []string{"HOME=" + home}})
	if want := filepath.Join(home, ".local", "share", "hearth"); c.DataDir != want {
		t.Errorf("data_dir = %q, want %q", c.DataDir, want)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	conf := func(content string) string { return writeFile(t, t.TempDir(), "hearth.conf", content) }
	tests := []struct {
		name string
		o    LoadOptions
		want string
	}{
		{"missing explicit file", LoadOptions{File: filepath.Join(dir, "nope.conf")}, "read config: open " + filepath.Join(dir, "nope.conf") + ": no such file or directory"},
		{"file is a directory", LoadOptions{File: dir}, "read config: " + dir + " is a directory"},
		{"unknown key in file", LoadOptions{File: conf("version = 1\n\n\n\n\n[torrent]\npeer_prt = 1\n")}, `hearth.conf:7: unknown key "torrent.peer_prt" (did you mean "torrent.peer_port"?)`},
		{"bad value in file", LoadOptions{File: conf("\n\ntorrent.peer_port = abc\n")}, `hearth.conf:3: torrent.peer_port: "abc" is not a number`},
		{"bad bool in file", LoadOptions{File: conf("[torrent]\ndht = maybe\n")}, `hearth.conf:2: torrent.dht: "maybe" is not a boolean`},
		{"bad float in file", LoadOptions{File: conf("[queue]\nseed_ratio = \"x\"\n")}, `hearth.conf:2: queue.seed_ratio: "x" is not a number`},
		{"bad duration in file", LoadOptions{File: conf("queue.seed_idle = 5 min\n")}, `hearth.conf:1: queue.seed_idle: "5 min" is not a duration`},
		{"array for a single value", LoadOptions{File: conf("listen = [\"a:1\"]\n")}, `hearth.conf:1: listen: takes one string, not an array`},
		{"unknown section", LoadOptions{File: conf("version = 1\n[torent]\npeer_port = 1\n")}, `hearth.conf:2: unknown section "torent" (did you mean "torrent"?)`},
		{"unknown section far off", LoadOptions{File: conf("[webui]\n")}, `hearth.conf:1: unknown section "webui" (sections: log, torrent, limits, queue, store, memory, access, channels, device, gpio, share)`},
		{"section as key", LoadOptions{File: conf("torrent = 5\n")}, `hearth.conf:1: "torrent" is a section`},
		{"syntax error", LoadOptions{File: conf("listen = \"abc\n")}, `hearth.conf:1: listen: unterminated string`},
		{"newer version", LoadOptions{File: conf("version = 2\n")}, `hearth.conf: config version 2 is newer than this hearth understands (1): upgrade hearth`},
		{"invalid after load", LoadOptions{File: conf("[torrent]\npeer_port = 70000\n")}, `torrent.peer_port: 70000 out of range 0-65535 (from file `},
		{"bad profile in file", LoadOptions{File: conf("\nprofile = fridge\n")}, `hearth.conf:2: profile: "fridge" is not one of router, nas, tv, desktop`},
		{"bad profile in env", LoadOptions{Env: []string{"HEARTH_PROFILE=fridge"}}, `env HEARTH_PROFILE: profile: "fridge" is not one of`},
		{"bad profile flag", LoadOptions{Flags: map[string]string{"profile": ""}}, `flag --profile: profile: "" is not one of`},
		{"unknown env", LoadOptions{Env: []string{"HEARTH_PEER_PRT=1"}}, `unknown environment variable HEARTH_PEER_PRT (did you mean HEARTH_PEER_PORT?)`},
		{"unknown env far off", LoadOptions{Env: []string{"HEARTH_WHATEVER_THIS_IS=1"}}, `unknown environment variable HEARTH_WHATEVER_THIS_IS (config keys are HEARTH_ + the key in upper case`},
		{"env version", LoadOptions{Env: []string{"HEARTH_VERSION=1"}}, `env HEARTH_VERSION: version is set only by the config file`},
		{"bad env value", LoadOptions{Env: []string{"HEARTH_PEER_PORT=abc"}}, `env HEARTH_PEER_PORT: torrent.peer_port: "abc" is not a number`},
		{"bad env bool", LoadOptions{Env: []string{"HEARTH_TORRENT_UTP=perhaps"}}, `env HEARTH_TORRENT_UTP: torrent.utp: "perhaps" is not a boolean`},
		{"alias disagrees", LoadOptions{Env: []string{"HEARTH_PEER_PORT=1", "HEARTH_TORRENT_PEER_PORT=2"}}, `env HEARTH_PEER_PORT="1" and HEARTH_TORRENT_PEER_PORT="2" disagree`},
		{"invalid from env", LoadOptions{Env: []string{"HEARTH_LOG_LEVEL=loud"}}, `log.level: "loud" is not one of debug, info, warn, error (from env HEARTH_LOG_LEVEL)`},
		{"unknown flag key", LoadOptions{Flags: map[string]string{"peer_port": "1"}}, `flag --peer_port: unknown key "peer_port" (did you mean "torrent.peer_port"?)`},
		{"bad flag value", LoadOptions{Flags: map[string]string{"queue.seed_idle": "later"}, FlagNames: map[string]string{"queue.seed_idle": "--seed-idle"}}, `flag --seed-idle: queue.seed_idle: "later" is not a duration`},
		{"flag version", LoadOptions{Flags: map[string]string{"version": "1"}}, `flag --version: version is set only by the config file`},
		{"invalid from flag", LoadOptions{Flags: map[string]string{"listen": "nowhere"}}, `listen: "nowhere" is not HOST:PORT (missing port in address) (from flag --listen)`},
		{"unknown runtime key", LoadOptions{Runtime: map[string]string{"queue.max_seed": "1"}}, `saved setting: unknown key "queue.max_seed" (did you mean "queue.max_seeds"?)`},
		{"bad runtime value", LoadOptions{Runtime: map[string]string{"queue.seed_ratio": "much"}}, `saved setting: queue.seed_ratio: "much" is not a number`},
		{"runtime data dir", LoadOptions{Runtime: map[string]string{"data_dir": "/x"}}, `saved setting data_dir: cannot be changed at runtime`},
		{"runtime profile", LoadOptions{Runtime: map[string]string{"profile": "nas"}}, `saved setting profile: cannot be changed at runtime`},
		{"runtime version", LoadOptions{Runtime: map[string]string{"version": "1"}}, `saved setting version: cannot be changed at runtime`},
		{"invalid from runtime", LoadOptions{Runtime: map[string]string{"queue.max_seeds": "-3"}}, `queue.max_seeds: must be >= 0 (got -3) (from api saved setting)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, s, err := Load(tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load() = %v, want error containing %s", err, tt.want)
			}
			if c != nil || s != nil {
				t.Errorf("Load() returned a config with error %v", err)
			}
		})
	}
}

// The implicit file is optional, but one that exists and cannot be read is an error.
func TestLoadImplicitFileUnreadable(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, FileName), 0o700); err != nil {
		t.Fatal(err)
	}
	_, _, err := Load(LoadOptions{Flags: map[string]string{"data_dir": dir}})
	if err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("Load with %s a directory = %v, want an error", FileName, err)
	}
}

func TestLoadTooLarge(t *testing.T) {
	p := writeFile(t, t.TempDir(), "big.conf", "# "+strings.Repeat("x", maxFileSize))
	if _, _, err := Load(LoadOptions{File: p}); err == nil || !strings.Contains(err.Error(), "larger than 1024 KiB") {
		t.Errorf("Load(1 MiB file) = %v, want too large", err)
	}
}

// A validation error is a *KeyError under the source annotation.
func TestLoadErrorIsKeyError(t *testing.T) {
	_, _, err := Load(LoadOptions{Env: []string{"HEARTH_TORRENT_PEER_PORT=70000"}})
	var ke *KeyError
	if !errors.As(err, &ke) || ke.Key != "torrent.peer_port" {
		t.Errorf("Load() = %v, want a *KeyError for torrent.peer_port", err)
	}
}

func TestTestdataLoads(t *testing.T) {
	files, err := filepath.Glob("testdata/v*.conf")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, s := mustLoad(t, LoadOptions{File: f})
			if c.Version != CurrentVersion {
				t.Errorf("version = %d, want %d", c.Version, CurrentVersion)
			}
			if filepath.Base(f) == "v1.conf" {
				// This sample sets every key: keep it complete when adding one.
				for _, k := range Keys() {
					if s[k.Key].Kind != SourceFile {
						t.Errorf("%s does not set %s", f, k.Key)
					}
				}
				if !slices.Equal(c.Torrent.DHTBootstrap, []string{"10.0.0.2:6881", "nas.local:6881"}) || c.Queue.SeedIdle != 12*time.Hour || c.Torrent.DownloadDir != "/srv/media/incoming" {
					t.Errorf("%s loaded as %+v", f, c)
				}
			}
		})
	}
	c, _ := mustLoad(t, LoadOptions{File: "testdata/v1-unversioned.conf"})
	if c.Queue.SeedIdle != 90*time.Minute || c.Torrent.PeerPort != 51000 || c.Torrent.DHT || c.Log.Level != "warn" {
		t.Errorf("v1-unversioned.conf loaded as %+v", c)
	}
}

func TestDescribe(t *testing.T) {
	c, s := mustLoad(t, LoadOptions{Env: []string{"HEARTH_PEER_PORT=6881"}})
	entries := Describe(c, s)
	if len(entries) != len(Keys()) {
		t.Fatalf("len(Describe()) = %d, want %d", len(entries), len(Keys()))
	}
	if !slices.IsSortedFunc(entries, func(a, b Entry) int { return strings.Compare(a.Key, b.Key) }) {
		t.Errorf("Describe() not sorted by key")
	}
	for _, e := range entries {
		if e.Key == "torrent.peer_port" {
			want := Entry{Key: "torrent.peer_port", Value: "6881", Source: Source{SourceEnv, "HEARTH_PEER_PORT"}, Help: table().byKey["torrent.peer_port"].help}
			if e != want {
				t.Errorf("Describe() entry = %+v, want %+v", e, want)
			}
			if got := e.Source.String(); got != "env HEARTH_PEER_PORT" {
				t.Errorf("Source.String() = %q, want %q", got, "env HEARTH_PEER_PORT")
			}
		}
	}
}
