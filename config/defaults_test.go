package config

import (
	"errors"
	"strings"
	"testing"
)

func TestDefaultProfiles(t *testing.T) {
	for _, p := range Profiles() {
		t.Run(p, func(t *testing.T) {
			c := mustDefault(t, p)
			if err := c.Validate(); err != nil {
				t.Fatalf("Default(%q).Validate() = %v", p, err)
			}
			if c.Profile != p || c.Version != CurrentVersion {
				t.Errorf("Default(%q): profile %q version %d, want %q %d", p, c.Profile, c.Version, p, CurrentVersion)
			}
			// The same for every device.
			common := []struct {
				key, want string
			}{
				{"listen", ":9091"},
				{"torrent.peer_port", "51413"},
				{"torrent.dht", "true"},
				{"torrent.port_forwarding", "false"},
				{"torrent.utp", "false"},
				{"torrent.ipv6", "true"},
				{"log.level", "info"},
				{"log.format", "text"},
				{"store.backend", "auto"},
			}
			// Small CPUs accept encryption but start plaintext (RC4 was
			// 45 % of the CPU in the transfer bench).
			enc := map[string]string{"router": "tolerate", "nas": "tolerate", "tv": "prefer", "desktop": "prefer"}[p]
			common = append(common, struct{ key, want string }{"torrent.encryption", enc})
			for _, w := range common {
				if got, _ := c.Get(w.key); got != w.want {
					t.Errorf("Default(%q): %s = %q, want %q", p, w.key, got, w.want)
				}
			}
		})
	}
}

func TestDefaultRouter(t *testing.T) {
	c := mustDefault(t, "router")
	want := map[string]string{
		"torrent.conns_per_torrent":     "15",
		"torrent.half_open_per_torrent": "8",
		"torrent.half_open_total":       "24",
		"torrent.peers_high_water":      "100",
		"torrent.peers_low_water":       "20",
		"torrent.request_buffer_kib":    "256",
		"torrent.unverified_mib":        "8",
		"torrent.hashers":               "1",
		"torrent.read_ahead_kib":        "1024",
		"queue.max_downloads":           "2",
		"queue.max_seeds":               "5",
		"store.memtable_mib":            "2",
		"store.value_log_mib":           "8",
		"store.block_cache_mib":         "0",
		"memory.limit_mib":              "40",
		"memory.gc_percent":             "50",
	}
	for k, w := range want {
		if got, _ := c.Get(k); got != w {
			t.Errorf("Default(router): %s = %q, want %q", k, got, w)
		}
	}
}

// The router must be the leanest profile on every memory knob.
func TestDefaultRouterIsSmallest(t *testing.T) {
	router := mustDefault(t, "router")
	knobs := []string{
		"torrent.conns_per_torrent", "torrent.half_open_per_torrent", "torrent.half_open_total",
		"torrent.peers_high_water", "torrent.request_buffer_kib", "torrent.unverified_mib",
		"torrent.hashers", "torrent.read_ahead_kib", "store.memtable_mib", "store.value_log_mib",
		"store.block_cache_mib",
	}
	for _, p := range Profiles()[1:] {
		c := mustDefault(t, p)
		for _, k := range knobs {
			f := table().byKey[k]
			if r, o := router.value(f).Int(), c.value(f).Int(); r > o {
				t.Errorf("%s: router %d > %s %d", k, r, p, o)
			}
		}
		if c.Memory.LimitMiB != 0 && c.Memory.LimitMiB < router.Memory.LimitMiB {
			t.Errorf("memory.limit_mib: %s %d below router %d", p, c.Memory.LimitMiB, router.Memory.LimitMiB)
		}
	}
	if router.Memory.LimitMiB == 0 || router.Memory.LimitMiB > 48 {
		t.Errorf("router memory.limit_mib = %d, want set and well under 64 MB", router.Memory.LimitMiB)
	}
}

func TestDefaultUnknownProfile(t *testing.T) {
	for _, p := range []string{"", "Router", "fridge"} {
		c, err := Default(p)
		var ke *KeyError
		if c != nil || !errors.As(err, &ke) || ke.Key != "profile" || !strings.Contains(err.Error(), `"`+p+`" is not one of router, nas, tv, desktop`) {
			t.Errorf("Default(%q) = %v, %v; want nil and an error naming it", p, c, err)
		}
	}
}

func TestDefaultDataDir(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XDG_DATA_HOME": "/x", "HOME": "/home/u"}, "/x/hearth"},
		{map[string]string{"HOME": "/home/u"}, "/home/u/.local/share/hearth"},
		{map[string]string{"XDG_DATA_HOME": "relative", "HOME": "/home/u"}, "/home/u/.local/share/hearth"},
		{map[string]string{"HOME": "relative"}, "./hearth-data"},
		{map[string]string{}, "./hearth-data"},
	}
	for _, tt := range tests {
		if got := defaultDataDir(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("defaultDataDir(%v) = %q, want %q", tt.env, got, tt.want)
		}
	}
	t.Setenv("XDG_DATA_HOME", "/data/xdg")
	if c := mustDefault(t, "tv"); c.DataDir != "/data/xdg/hearth" {
		t.Errorf("Default(tv).DataDir with XDG_DATA_HOME=/data/xdg = %q, want /data/xdg/hearth", c.DataDir)
	}
}
