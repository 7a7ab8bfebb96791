package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestSaveLoadRoundTrip(t *testing.T) {
	odd := mustDefault(t, "nas")
	odd.DataDir = "/srv/\"quoted\" back\\slash #hash\ttab\nnewline é ☃ \x01\x7f"
	odd.Torrent.DownloadDir = "it's ' single"
	odd.Torrent.DHTBootstrap = []string{"10.0.0.1:6881", "[::1]:6881", "node.local:1"}
	odd.Queue.SeedRatio = 0.1
	odd.Queue.SeedIdle = time.Hour + 500*time.Millisecond
	odd.Listen = ":0"
	odd.Memory.LimitMiB = 1 << 20

	configs := map[string]*Config{"odd": odd}
	for _, p := range Profiles() {
		configs[p] = mustDefault(t, p)
	}
	for name, c := range configs {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sub", "dir", FileName)
			if err := c.Save(path); err != nil {
				t.Fatalf("Save: %v", err)
			}
			got, srcs := mustLoad(t, LoadOptions{File: path})
			if !reflect.DeepEqual(got, c) {
				t.Errorf("Load(Save(c)) =\n%+v\nwant\n%+v", got, c)
			}
			for _, k := range Keys() {
				if srcs[k.Key].Kind != SourceFile {
					t.Errorf("source of %s = %v, want the file: Save must write every key", k.Key, srcs[k.Key])
				}
			}
			if names := dirNames(t, filepath.Dir(path)); !slices.Equal(names, []string{FileName}) {
				t.Errorf("files after Save = %q, want only %s", names, FileName)
			}
			st, err := os.Stat(path)
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("new file mode = %v, %v; want 0600", st.Mode(), err)
			}
			// Saving again writes the same bytes: the output is deterministic.
			first, _ := os.ReadFile(path)
			if err := got.Save(path); err != nil {
				t.Fatal(err)
			}
			second, _ := os.ReadFile(path)
			if !bytes.Equal(first, second) {
				t.Errorf("second Save wrote different bytes:\n%s\n---\n%s", first, second)
			}
		})
	}
}

func TestSaveStampsVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	if err := mustDefault(t, "router").Save(path); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	d, err := parse(path, data)
	if err != nil || d.version != CurrentVersion {
		t.Errorf("saved file: version %v, %v; want %d\n%s", d, err, CurrentVersion, data)
	}
	if !strings.Contains(string(data), "[torrent]\n") || !strings.Contains(string(data), "# port for incoming peer connections") {
		t.Errorf("saved file lacks sections or help comments:\n%s", data)
	}
}

func TestSaveKeepsMode(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, FileName, "# old\n")
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := mustDefault(t, "tv").Save(path); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("mode after Save = %v, want the old 0640", st.Mode().Perm())
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{FileName}) {
		t.Errorf("files after Save = %q, want only %s", names, FileName)
	}
}

func TestSaveRefusesInvalid(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, FileName, "# keep me\n")
	c := mustDefault(t, "desktop")
	c.Torrent.PeerPort = 70000
	err := c.Save(path)
	if err == nil || !strings.Contains(err.Error(), "torrent.peer_port: 70000 out of range") {
		t.Errorf("Save(invalid) = %v, want the validation error", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "# keep me\n" {
		t.Errorf("Save(invalid) changed the file to %q", data)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{FileName}) {
		t.Errorf("files after failed Save = %q, want only %s", names, FileName)
	}
}

// The rename fails after the temporary file was written and synced: the
// temporary file must go.
func TestSaveOntoDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	if err := os.MkdirAll(filepath.Join(path, "inside"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := mustDefault(t, "desktop").Save(path); err == nil {
		t.Errorf("Save onto a directory = nil, want an error")
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{FileName}) {
		t.Errorf("files after failed Save = %q, want only %s", names, FileName)
	}
}
