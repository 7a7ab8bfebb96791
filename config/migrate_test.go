package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// The real table must lead from version 1 to CurrentVersion, one step each.
func TestMigrationsTable(t *testing.T) {
	for v := 2; v <= CurrentVersion; v++ {
		n := 0
		for _, m := range migrations {
			if m.to == v {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d migrations to version %d, want 1", n, v)
		}
	}
	for _, m := range migrations {
		if m.to < 2 || m.to > CurrentVersion {
			t.Errorf("migration to version %d outside 2-%d", m.to, CurrentVersion)
		}
	}
}

// fakeMigrations pretend that version 2 renamed torrent.port to
// torrent.peer_port and [speed] to [limits], and version 3 dropped
// torrent.lsd and stored seed_idle in minutes no more.
var fakeMigrations = []migration{
	{to: 3, migrate: func(d *document) error {
		d.removeKey("torrent.lsd")
		for i, e := range d.entries {
			if e.key == "queue.seed_idle_minutes" {
				d.entries[i].key = "queue.seed_idle"
				d.entries[i].value = strings.TrimSpace(e.value) + "m"
			}
		}
		return nil
	}},
	{to: 2, migrate: func(d *document) error {
		d.renameKey("torrent.port", "torrent.peer_port")
		d.renameSection("speed", "limits")
		return nil
	}},
}

// TestMigrateMechanism runs a version 1 file through two fake steps to a
// fake version 3 with the loader's own code path.
func TestMigrateMechanism(t *testing.T) {
	const v1 = `version = 1
[torrent]
port = 6881
lsd = true
[speed]
upload_kbps = 50
[queue]
seed_idle_minutes = 90
`
	l, err := newLoader(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l.version, l.migrations = 3, fakeMigrations
	// Version 3 does not exist in this build, so validation must refuse it,
	// and nothing else: every old key found its new name.
	_, _, err = l.build("old.conf", []byte(v1))
	if want := "version: 3 is not supported (this hearth writes version 1) (from file old.conf:1)"; err == nil || err.Error() != want {
		t.Fatalf("build() = %v, want only %s", err, want)
	}
	d, err := parse("old.conf", []byte(v1))
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(d, 3, fakeMigrations); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	c, s := mustDefault(t, "desktop"), Sources{}
	if err := l.applyFile(c, s, d); err != nil {
		t.Fatalf("applyFile after migration: %v", err)
	}
	if c.Version != 3 || c.Torrent.PeerPort != 6881 || c.Limits.UploadKBps != 50 || c.Queue.SeedIdle.String() != "1h30m0s" {
		t.Errorf("migrated config: version %d peer_port %d upload %d seed_idle %v", c.Version, c.Torrent.PeerPort, c.Limits.UploadKBps, c.Queue.SeedIdle)
	}
	// Errors and sources keep the lines the user wrote.
	want := map[string]Source{
		"torrent.peer_port":  {SourceFile, "old.conf:3"},
		"limits.upload_kbps": {SourceFile, "old.conf:6"},
		"queue.seed_idle":    {SourceFile, "old.conf:8"},
		"version":            {SourceFile, "old.conf:1"},
	}
	for k, w := range want {
		if s[k] != w {
			t.Errorf("source of %s = %v, want %v", k, s[k], w)
		}
	}
}

func TestMigrateErrors(t *testing.T) {
	parsed := func(v int) *document {
		d, err := parse("m.conf", fmt.Appendf(nil, "version = %d\n", v))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if err := migrate(parsed(1), 3, fakeMigrations[1:]); err == nil || err.Error() != "m.conf: no migration from config version 2 to 3" {
		t.Errorf("migrate with a gap = %v, want no migration from 2 to 3", err)
	}
	failing := []migration{{to: 2, migrate: func(*document) error { return fmt.Errorf("value of x is gone") }}}
	if err := migrate(parsed(1), 2, failing); err == nil || err.Error() != "m.conf: migrate config from version 1 to 2: value of x is gone" {
		t.Errorf("failing migration = %v", err)
	}
	if err := migrate(parsed(4), 3, fakeMigrations); err == nil || !strings.Contains(err.Error(), "config version 4 is newer than this hearth understands (3)") {
		t.Errorf("migrate(newer) = %v, want newer-version error", err)
	}
	// Current files pass untouched.
	d := parsed(2)
	before := *d
	if err := migrate(d, 2, nil); err != nil || !reflect.DeepEqual(*d, before) {
		t.Errorf("migrate(current) = %v, changed %v", err, !reflect.DeepEqual(*d, before))
	}
	// No version line reads as version 1.
	d, _ = parse("m.conf", []byte("torrent.port = 1\n"))
	if err := migrate(d, 2, fakeMigrations); err != nil || d.entries[0].key != "torrent.peer_port" || d.version != 2 {
		t.Errorf("unversioned file: %v, entries %+v", err, d.entries)
	}
}
