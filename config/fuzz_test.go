package config

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParse feeds arbitrary files to the parser and the loader: they must
// never panic, and a file that loads must survive Save and Load unchanged.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.conf")
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "[", "a = \"\\u00e9\"", "torrent.dht_bootstrap = ['a:1', b:2,]", "x = [\"", "[torrent]\n[torrent]",
		"data_dir = \"\\t\\r\\n\\\\\\\"\"", "listen = :1 # c", "version = 99999999999999999999",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if d, err := parse("fuzz.conf", data); err == nil {
			_ = migrate(d, CurrentVersion, migrations)
		}
		l, err := newLoader(LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := l.build("fuzz.conf", data)
		if err != nil {
			return
		}
		path := filepath.Join(t.TempDir(), FileName)
		if err := c.Save(path); err != nil {
			t.Fatalf("Save of a loaded config: %v", err)
		}
		got, _, err := Load(LoadOptions{File: path})
		if err != nil {
			saved, _ := os.ReadFile(path)
			t.Fatalf("Load(Save(c)): %v\nsaved:\n%s", err, saved)
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("Load(Save(c)) =\n%+v\nwant\n%+v", got, c)
		}
	})
}
