package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestPkgOf(t *testing.T) {
	tests := []struct{ sym, want string }{
		{"github.com/pion/webrtc/v4.(*PeerConnection).CreateOffer", "github.com/pion/webrtc/v4"},
		{"github.com/anacrolix/torrent.(*Client).AddMagnet.func1", "github.com/anacrolix/torrent"},
		{"net/http.(*Transport).roundTrip", "net/http"},
		{"runtime.mallocgc", "runtime"},
		{"type:.eq.net/url.URL", "net/url"},
		{"slices.SortFunc[go.shape.[]int,go.shape.int]", "slices"},
		{"main.main", "main"},
		{"gogo", "runtime"},
		{"go:string.*", "(generic shapes, anonymous types)"},
	}
	for _, tt := range tests {
		if got := pkgOf(tt.sym); got != tt.want {
			t.Errorf("pkgOf(%q) = %q, want %q", tt.sym, got, tt.want)
		}
	}
}

func TestModuleOf(t *testing.T) {
	mods := []string{"github.com/pion/webrtc/v4", "github.com/pion/dtls/v3", "go.etcd.io/bbolt", "github.com/hearth-media/hearth"}
	tests := []struct{ pkg, want, family string }{
		{"github.com/pion/webrtc/v4/internal/util", "github.com/pion/webrtc/v4", "github.com/pion"},
		{"go.etcd.io/bbolt", "go.etcd.io/bbolt", "go.etcd.io"},
		{"crypto/tls", "std: crypto", "std (Go standard library)"},
		{"main", "github.com/hearth-media/hearth", "github.com/hearth-media"},
		{"example.org/unlisted/pkg", "example.org/unlisted/pkg", "example.org"},
	}
	for _, tt := range tests {
		got := moduleOf(tt.pkg, mods)
		if got != tt.want {
			t.Errorf("moduleOf(%q) = %q, want %q", tt.pkg, got, tt.want)
		}
		if f := familyOf(got); f != tt.family {
			t.Errorf("familyOf(%q) = %q, want %q", got, f, tt.family)
		}
	}
}

// TestRun measures a real binary: this package built with symbols.
func TestRun(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "binsize")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var out bytes.Buffer
	if err := run(&out, bin, 10, 0); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"std: runtime", "std: debug", "github.com/hearth-media/hearth", "top 10 packages"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("binsize output lacks %q:\n%s", want, out.String())
		}
	}

	stripped := filepath.Join(t.TempDir(), "stripped")
	cmd = exec.Command("go", "build", "-ldflags", "-s -w", "-o", stripped, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if err := run(&out, stripped, 10, 0); err == nil || !strings.Contains(err.Error(), "no symbol table") {
		t.Errorf("run(stripped binary) = %v, want a no-symbol-table error", err)
	}
}
