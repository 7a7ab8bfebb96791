package config

import "fmt"

// A migration rewrites a parsed file of version to-1 into version to. It
// works on the document, not on Config, so that renamed and removed keys
// are handled before unknown keys are reported, and errors keep the line
// numbers of the file the user wrote.
type migration struct {
	to      int
	migrate func(d *document) error
}

// migrations lists every format change in order. Version 1 is the first
// format, so there is nothing to migrate yet. When a key is renamed, bump
// CurrentVersion and add {to: 2, migrate: func(d *document) error {
// d.renameKey("old", "new"); return nil }}, and a testdata/v1-*.conf
// that exercises it. Runtime settings saved through the API are stored as
// config keys without a version: a rename must also be applied there.
var migrations = []migration{}

// migrate brings d from its version (1 when the file has none) to version
// to, using steps from table.
func migrate(d *document, to int, table []migration) error {
	from := d.version
	if from == 0 {
		// A hand-written file without a version line is read as the first
		// format: migrations then bring it forward like any old file.
		from = 1
	}
	if from > to {
		return fmt.Errorf("%s: config version %d is newer than this hearth understands (%d): upgrade hearth or remove the file", d.name, from, to)
	}
	for v := from; v < to; v++ {
		var step *migration
		for i := range table {
			if table[i].to == v+1 {
				step = &table[i]
			}
		}
		if step == nil {
			return fmt.Errorf("%s: no migration from config version %d to %d", d.name, v, v+1)
		}
		if err := step.migrate(d); err != nil {
			return fmt.Errorf("%s: migrate config from version %d to %d: %w", d.name, v, v+1, err)
		}
	}
	d.version = to
	return nil
}

// renameKey renames a key (its line is kept).
func (d *document) renameKey(old, new string) {
	for i := range d.entries {
		if d.entries[i].key == old {
			d.entries[i].key = new
		}
	}
}

// renameSection renames a [section] and every key in it.
func (d *document) renameSection(old, new string) {
	for i := range d.headers {
		if d.headers[i].name == old {
			d.headers[i].name = new
		}
	}
	for i := range d.entries {
		if k := d.entries[i].key; len(k) > len(old) && k[:len(old)+1] == old+"." {
			d.entries[i].key = new + k[len(old):]
		}
	}
}

// removeKey drops a key that no longer means anything.
func (d *document) removeKey(key string) {
	out := d.entries[:0]
	for _, e := range d.entries {
		if e.key != key {
			out = append(out, e)
		}
	}
	d.entries = out
}
