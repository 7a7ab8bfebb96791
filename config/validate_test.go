package config

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		key, value string
		want       string // "" = valid
	}{
		{"torrent.peer_port", "70000", "torrent.peer_port: 70000 out of range 0-65535"},
		{"torrent.peer_port", "-1", "torrent.peer_port: -1 out of range 0-65535"},
		{"torrent.peer_port", "0", ""},
		{"queue.seed_ratio", "-0.5", "queue.seed_ratio: must be >= 0"},
		{"queue.seed_ratio", "0", ""},
		{"queue.seed_idle", "-5m", "queue.seed_idle: must be >= 0s (got -5m)"},
		{"queue.max_seeds", "-1", "queue.max_seeds: must be >= 0 (got -1)"},
		{"log.level", "loud", `log.level: "loud" is not one of debug, info, warn, error`},
		{"log.format", "xml", `log.format: "xml" is not one of text, json`},
		{"torrent.encryption", "off", `torrent.encryption: "off" is not one of prefer, require, tolerate`},
		{"store.backend", "sqlite", `store.backend: "sqlite" is not one of auto, badger, bbolt`},
		{"profile", "fridge", `profile: "fridge" is not one of router, nas, tv, desktop`},
		{"version", "2", "version: 2 is not supported"},
		{"listen", "9091", `listen: "9091" is not HOST:PORT (missing port in address)`},
		{"listen", "localhost:http", `listen: "localhost:http": port "http" out of range 0-65535`},
		{"listen", "127.0.0.1:65536", `listen: "127.0.0.1:65536": port "65536" out of range 0-65535`},
		{"listen", "bad host!:80", `listen: "bad host!:80": "bad host!" is not an IP address or host name`},
		{"listen", ":9091", ""},
		{"listen", "[::1]:9091", ""},
		{"listen", "[fe80::1%eth0]:9091", ""},
		{"listen", "nas.local:0", ""},
		{"data_dir", "", "data_dir: must not be empty"},
		{"data_dir", "~/hearth", `data_dir: "~/hearth": ~ is not expanded; write the full path`},
		{"data_dir", "a\x00b", "data_dir: \"a\\x00b\" contains a NUL byte"},
		{"data_dir", "\xff", `data_dir: "\xff" is not valid UTF-8`},
		{"data_dir", "relative/dir", ""},
		{"torrent.download_dir", "", ""},
		{"torrent.download_dir", "~", `torrent.download_dir: "~": ~ is not expanded`},
		{"torrent.dht_bootstrap", "10.0.0.1:6881,router.example:6881", ""},
		{"torrent.dht_bootstrap", "10.0.0.1", `torrent.dht_bootstrap: "10.0.0.1" is not HOST:PORT`},
		{"torrent.dht_bootstrap", ":6881", `torrent.dht_bootstrap: ":6881": missing host`},
		{"torrent.dht_bootstrap", "a:0", `torrent.dht_bootstrap: "a:0": port "0" out of range 1-65535`},
		{"torrent.conns_per_torrent", "0", "torrent.conns_per_torrent: must be >= 1 (got 0)"},
		{"torrent.request_buffer_kib", "8", "torrent.request_buffer_kib: must be >= 16 (got 8)"},
		{"torrent.hashers", "100", "torrent.hashers: 100 out of range 1-64"},
		{"torrent.peers_low_water", "600", "torrent.peers_low_water: 600 must not exceed torrent.peers_high_water (500)"},
		{"store.value_log_mib", "0", "store.value_log_mib: 0 out of range 1-2048"},
		{"gpio.button", "GPIO17", ""},
		{"gpio.led_status", "P1_13", ""},
		{"gpio.led_second", "GPIO 22", `gpio.led_second: "GPIO 22" is not a GPIO pin name (like GPIO17)`},
		{"gpio.button", "GPIO\x0117", `gpio.button: "GPIO\x0117" is not a GPIO pin name`},
		{"share.smtp", "", ""},
		{"share.smtp", "mail.example.org", `share.smtp: "mail.example.org" is not HOST:PORT`},
		{"share.smtp", "mail.example.org:587", "share.smtp: needs share.smtp_from"},
		{"share.smtp_from", "Gran <gran@example.org>", ""},
		{"share.smtp_from", "gran at example", `share.smtp_from: "gran at example" is not an email address`},
		{"share.smtp_user", "gran", "share.smtp_user: needs share.smtp_password_file"},
		{"share.smtp_password_file", "~/pw", `share.smtp_password_file: "~/pw": ~ is not expanded`},
		{"share.smtp_tls", "ssl", `share.smtp_tls: "ssl" is not one of starttls, tls`},
		{"share.outside_port", "0", "share.outside_port: 0 out of range 1-65535"},
		{"share.gateway", "192.168.1.1", ""},
		{"share.gateway", "127.0.0.2:5351", ""},
		{"share.gateway", "router.lan", `share.gateway: "router.lan" is not an IP address or IP:PORT`},
	}
	for _, tt := range tests {
		c := mustDefault(t, "desktop")
		if err := c.Set(tt.key, tt.value); err != nil {
			t.Fatalf("Set(%q, %q): %v", tt.key, tt.value, err)
		}
		err := c.Validate()
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s = %q: Validate() = %v, want nil", tt.key, tt.value, err)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s = %q: Validate() = %v, want %s", tt.key, tt.value, err, tt.want)
		}
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != tt.key {
			t.Errorf("%s = %q: Validate() = %v, want a *KeyError naming the key", tt.key, tt.value, err)
		}
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := mustDefault(t, "nas")
	c.Torrent.PeerPort = 70000
	c.Log.Level = "loud"
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want two problems")
	}
	for _, want := range []string{"torrent.peer_port: 70000", `log.level: "loud"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %q, want it to contain %q", err, want)
		}
	}
}

func TestValidateBadgerOn32Bit(t *testing.T) {
	c := mustDefault(t, "router")
	c.Store.Backend = "badger"
	if p := c.problems(false); len(p) != 0 {
		t.Errorf("badger on 64-bit: problems = %v, want none", p)
	}
	p := c.problems(true)
	if len(p) != 1 || p[0].Key != "store.backend" || !strings.Contains(p[0].Error(), "32-bit") {
		t.Errorf("badger on 32-bit: problems = %v, want one about store.backend", p)
	}
	c.Store.Backend = "auto"
	if p := c.problems(true); len(p) != 0 {
		t.Errorf("auto on 32-bit: problems = %v, want none", p)
	}
}

func TestParseClockAndDays(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{{"00:00", 0, true}, {"23:59", 1439, true}, {"09:30", 570, true}, {"24:00", 0, false}, {"9:30", 0, false}, {"", 0, false}, {"12:60", 0, false}} {
		got, err := ParseClock(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseClock(%q) = %d, %v, want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{{"all", 127, true}, {"weekdays", 62, true}, {"weekend", 65, true}, {"mon,wed", 10, true}, {"Sun", 1, true}, {"funday", 0, false}, {"", 0, false}} {
		got, err := ParseDays(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseDays(%q) = %d, %v, want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if tc.ok && mustParseDays(t, FormatDays(got)) != got {
			t.Errorf("FormatDays(%d) = %q does not parse back", got, FormatDays(got))
		}
	}
}

func mustParseDays(t *testing.T, s string) int {
	t.Helper()
	m, err := ParseDays(s)
	if err != nil {
		t.Fatalf("ParseDays(%q): %v", s, err)
	}
	return m
}

func TestValidateGPIOPinUsedTwice(t *testing.T) {
	c := mustDefault(t, "router")
	c.GPIO.Button, c.GPIO.LEDStatus, c.GPIO.LEDSecond = "GPIO17", "GPIO27", "GPIO17"
	err := c.Validate()
	var ke *KeyError
	if !errors.As(err, &ke) || ke.Key != "gpio.led_second" || err.Error() != `gpio.led_second: "GPIO17" is already used by gpio.button` {
		t.Errorf("Validate() with gpio.led_second = gpio.button = %v, want one error naming gpio.led_second and gpio.button", err)
	}
	c.GPIO.LEDSecond = "GPIO22"
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() with three pins = %v, want nil", err)
	}
}
