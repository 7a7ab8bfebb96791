package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustDefault(t testing.TB, profile string) *Config {
	t.Helper()
	c, err := Default(profile)
	if err != nil {
		t.Fatalf("Default(%q): %v", profile, err)
	}
	return c
}

// countLeaves counts Config's leaf fields independently of the key table.
func countLeaves(typ reflect.Type) int {
	n := 0
	for i := range typ.NumField() {
		if ft := typ.Field(i).Type; ft.Kind() == reflect.Struct {
			n += countLeaves(ft)
		} else {
			n++
		}
	}
	return n
}

func TestKeys(t *testing.T) {
	keys := Keys()
	if got, want := len(keys), countLeaves(reflect.TypeFor[Config]()); got != want {
		t.Errorf("len(Keys()) = %d, want %d leaf fields", got, want)
	}
	seenEnv := map[string]string{}
	for _, k := range keys {
		if k.Help == "" {
			t.Errorf("key %s has no help", k.Key)
		}
		if rules[k.Key] == nil {
			t.Errorf("key %s has no validation rule in rules", k.Key)
		}
		if k.Key == "version" {
			if k.Env != "" {
				t.Errorf("version: Env = %q, want none", k.Env)
			}
			continue
		}
		if want := "HEARTH_" + strings.ToUpper(strings.ReplaceAll(k.Key, ".", "_")); k.Env != want {
			t.Errorf("key %s: Env = %q, want %q", k.Key, k.Env, want)
		}
		if other, dup := seenEnv[k.Env]; dup {
			t.Errorf("keys %s and %s share variable %s", other, k.Key, k.Env)
		}
		seenEnv[k.Env] = k.Key
	}
	for alias, key := range envAliases {
		if other, dup := seenEnv[alias]; dup {
			t.Errorf("alias %s is also the variable of %s", alias, other)
		}
		if table().byKey[key] == nil {
			t.Errorf("alias %s names unknown key %s", alias, key)
		}
	}
	for _, want := range []struct{ key, typ string }{
		{"data_dir", "string"}, {"listen", "string"}, {"profile", "string"}, {"version", "int"},
		{"torrent.peer_port", "int"}, {"torrent.dht", "bool"}, {"torrent.dht_bootstrap", "list"},
		{"queue.seed_ratio", "float"}, {"queue.seed_idle", "duration"},
	} {
		found := false
		for _, k := range keys {
			if k.Key == want.key {
				found = true
				if k.Type != want.typ {
					t.Errorf("Keys(): %s has Type %q, want %q", k.Key, k.Type, want.typ)
				}
			}
		}
		if !found {
			t.Errorf("Keys() lacks %s", want.key)
		}
	}
	if len(rules) != len(keys) {
		t.Errorf("len(rules) = %d, want %d (a rule for a key that does not exist?)", len(rules), len(keys))
	}
}

func TestSetGet(t *testing.T) {
	tests := []struct {
		key, in, want string
	}{
		{"data_dir", "/var/lib/hearth", "/var/lib/hearth"},
		{"data_dir", " spaced ", " spaced "},
		{"torrent.peer_port", "6881", "6881"},
		{"torrent.peer_port", " +42 ", "42"},
		{"torrent.dht", "true", "true"},
		{"torrent.dht", "FALSE", "false"},
		{"torrent.dht", "yes", "true"},
		{"torrent.dht", "no", "false"},
		{"torrent.dht", "on", "true"},
		{"torrent.dht", "Off", "false"},
		{"torrent.dht", "1", "true"},
		{"torrent.dht", "0", "false"},
		{"queue.seed_ratio", "1.5", "1.5"},
		{"queue.seed_ratio", "2", "2"},
		{"queue.seed_ratio", "1e3", "1000"},
		{"queue.seed_idle", "90m", "1h30m"},
		{"queue.seed_idle", "1h30m0s", "1h30m"},
		{"queue.seed_idle", "90", "1m30s"},
		{"queue.seed_idle", "0", "0s"},
		{"queue.seed_idle", "2h", "2h"},
		{"queue.seed_idle", "1.5s", "1.5s"},
		{"queue.seed_idle", "1h0m0.5s", "1h0m0.5s"},
		{"torrent.dht_bootstrap", "a:1, b:2 ,,", "a:1,b:2"},
		{"torrent.dht_bootstrap", "", ""},
	}
	for _, tt := range tests {
		c := mustDefault(t, "desktop")
		if err := c.Set(tt.key, tt.in); err != nil {
			t.Errorf("Set(%q, %q) = %v, want nil", tt.key, tt.in, err)
			continue
		}
		got, err := c.Get(tt.key)
		if err != nil || got != tt.want {
			t.Errorf("Set(%q, %q); Get = %q, %v, want %q", tt.key, tt.in, got, err, tt.want)
		}
		// What Get returns, Set takes back unchanged.
		c2 := c.Clone()
		if err := c2.Set(tt.key, got); err != nil || !reflect.DeepEqual(c, c2) {
			t.Errorf("Set(%q, Get()=%q) changed the config or failed: %v", tt.key, got, err)
		}
	}
	c := mustDefault(t, "desktop")
	if err := c.Set("torrent.dht_bootstrap", ""); err != nil || c.Torrent.DHTBootstrap != nil {
		t.Errorf(`Set(dht_bootstrap, "") = %v, list %#v; want nil, nil`, err, c.Torrent.DHTBootstrap)
	}
	if err := c.Set("queue.seed_idle", "45"); err != nil || c.Queue.SeedIdle != 45*time.Second {
		t.Errorf(`Set(seed_idle, "45") = %v, %v; want 45s`, err, c.Queue.SeedIdle)
	}
}

func TestSetErrors(t *testing.T) {
	tests := []struct {
		key, in, want string
	}{
		{"torrent.peer_prt", "1", `unknown key "torrent.peer_prt" (did you mean "torrent.peer_port"?)`},
		{"peer_port", "1", `unknown key "peer_port" (did you mean "torrent.peer_port"?)`},
		{"nonsense", "1", `unknown key "nonsense"`},
		{"torrent", "1", `torrent: is a section, not a key`},
		{"", "1", `unknown key ""`},
		{"torrent.peer_port", "abc", `torrent.peer_port: "abc" is not a number`},
		{"torrent.peer_port", "1.5", `torrent.peer_port: "1.5" is not a number`},
		{"torrent.peer_port", "", `torrent.peer_port: "" is not a number`},
		{"torrent.peer_port", "99999999999999999999", `torrent.peer_port: "99999999999999999999" is too large`},
		{"torrent.dht", "maybe", `torrent.dht: "maybe" is not a boolean (true/false, yes/no, on/off, 1/0)`},
		{"torrent.dht", "", `torrent.dht: "" is not a boolean`},
		{"queue.seed_ratio", "lots", `queue.seed_ratio: "lots" is not a number`},
		{"queue.seed_ratio", "NaN", `queue.seed_ratio: "NaN" is not a number`},
		{"queue.seed_ratio", "+Inf", `queue.seed_ratio: "+Inf" is not a number`},
		{"queue.seed_idle", "soon", `queue.seed_idle: "soon" is not a duration (like 90m, 1h30m, or seconds)`},
		{"queue.seed_idle", "10 minutes", `queue.seed_idle: "10 minutes" is not a duration`},
		{"queue.seed_idle", "99999999999999", `queue.seed_idle: "99999999999999" is too large`},
	}
	for _, tt := range tests {
		c := mustDefault(t, "desktop")
		before := c.Clone()
		err := c.Set(tt.key, tt.in)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Set(%q, %q) = %v, want %s", tt.key, tt.in, err, tt.want)
		}
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != tt.key {
			t.Errorf("Set(%q, %q) = %#v, want a *KeyError for the key", tt.key, tt.in, err)
		}
		if !reflect.DeepEqual(c, before) {
			t.Errorf("Set(%q, %q) failed but changed the config", tt.key, tt.in)
		}
	}
	if _, err := mustDefault(t, "desktop").Get("torrent.nope"); err == nil {
		t.Errorf(`Get("torrent.nope") = nil error, want unknown key`)
	}
}

func TestClone(t *testing.T) {
	c := mustDefault(t, "router")
	c.Torrent.DHTBootstrap = []string{"a:1", "b:2"}
	n := c.Clone()
	if !reflect.DeepEqual(c, n) {
		t.Fatalf("Clone() = %+v, want %+v", n, c)
	}
	n.Torrent.DHTBootstrap[0] = "changed:1"
	n.Torrent.PeerPort = 1
	if c.Torrent.DHTBootstrap[0] != "a:1" || c.Torrent.PeerPort == 1 {
		t.Errorf("changing the clone changed the original: %+v", c.Torrent)
	}
	if (*Config)(nil).Clone() != nil {
		t.Errorf("nil.Clone() != nil")
	}
}

func TestClosest(t *testing.T) {
	names := keyNames()
	tests := []struct{ in, want string }{
		{"torrent.peer_prt", "torrent.peer_port"},
		{"read_ahead_kib", "torrent.read_ahead_kib"},
		{"lsiten", "listen"},
		{"queue.seed_idel", "queue.seed_idle"},
		{"completely.different", ""},
		{strings.Repeat("x", 1000), ""},
	}
	for _, tt := range tests {
		if got := closest(tt.in, names); got != tt.want {
			t.Errorf("closest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
