package channel

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hearth-media/hearth/engine/link"
)

const testKey = "8543d3e6115f0f98c944077a4493dcd543e49c739fd998550a1f614ab36ed63e"

func TestParseLink(t *testing.T) {
	tests := []struct {
		in       string
		wantErr  string // substring; "" = valid
		wantSalt string
		wantName string
		peers    int
	}{
		{in: "magnet:?xs=urn:btpk:" + testKey},
		{in: "  MAGNET:?XS=URN:BTPK:" + strings.ToUpper(testKey) + "  "},
		{in: "magnet:?xs=urn:btpk:" + testKey + "&s=6e" + "&dn=Family+photos", wantSalt: "n", wantName: "Family photos"},
		{in: "magnet:?dn=%E2%80%AEgpj.exe&xs=urn:btpk:" + testKey, wantName: "gpj.exe"},
		{in: "magnet:?xs=urn:btpk:" + testKey + "&xs=urn:btpk:" + testKey},
		{in: "magnet:?xs.1=urn:btpk:" + testKey + "&tr=udp://t:1&x.pe=127.0.0.1:6881&x.pe=bad&x.pe=[::1]:7", peers: 2},
		{in: "magnet:?xs=https://seed.example/x&xs=urn:btpk:" + testKey},
		{in: "", wantErr: "must start with"},
		{in: "http://x/?xs=urn:btpk:" + testKey, wantErr: "must start with"},
		{in: "magnet:?dn=x", wantErr: "no xs=urn:btpk"},
		{in: "magnet:?xs=urn:btpk:" + testKey[:63], wantErr: "63 characters"},
		{in: "magnet:?xs=urn:btpk:" + testKey + "00", wantErr: "66 characters"},
		{in: "magnet:?xs=urn:btpk:" + strings.Repeat("zz", 32), wantErr: "not hex"},
		{in: "magnet:?xs=urn:btpk:" + testKey + "&xs=urn:btpk:" + strings.Repeat("00", 32), wantErr: "two different public keys"},
		{in: "magnet:?xs=urn:btpk:" + testKey + "&xt=urn:btih:" + strings.Repeat("ab", 20), wantErr: "xt"},
		{in: "magnet:?xs=urn:btpk:" + testKey + "&s=xyz", wantErr: "not hex"},
		{in: "magnet:?xs=urn:btpk:" + testKey + "&s=" + strings.Repeat("00", 65), wantErr: "more than 64"},
		{in: "magnet:?xs=urn:btpk:" + testKey + "&s=01&s=02", wantErr: "two different salts"},
		{in: "magnet:?xs=urn:btpk:" + testKey + "&dn=%zz", wantErr: "%-escape"},
		{in: "magnet:?xs=urn:btpk:" + testKey + "&dn=" + strings.Repeat("a", MaxLinkLen), wantErr: "longer than"},
	}
	for _, tt := range tests {
		l, err := ParseLink(tt.in)
		if tt.wantErr != "" {
			if err == nil || !errors.Is(err, ErrBadLink) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseLink(%.60q) = %v, want an ErrBadLink error with %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseLink(%.60q) = %v", tt.in, err)
			continue
		}
		if string(l.Salt) != tt.wantSalt || l.Name != tt.wantName || len(l.Peers) != tt.peers {
			t.Errorf("ParseLink(%.60q) = salt %q, name %q, %d peers; want %q, %q, %d", tt.in, l.Salt, l.Name, len(l.Peers), tt.wantSalt, tt.wantName, tt.peers)
		}
		if got := strings.ToLower(l.String()[len("magnet:?xs=urn:btpk:"):][:64]); got != testKey {
			t.Errorf("ParseLink(%.60q).String() has key %s", tt.in, got)
		}
		checkRoundTrip(t, l)
	}
}

// checkRoundTrip fails unless l survives String and ParseLink.
func checkRoundTrip(t *testing.T, l Link) {
	t.Helper()
	back, err := ParseLink(l.String())
	if err != nil {
		t.Fatalf("ParseLink(%q) = %v, want the link it came from", l.String(), err)
	}
	if back.PublicKey != l.PublicKey || !bytes.Equal(back.Salt, l.Salt) || back.Name != l.Name || strings.Join(back.Peers, ",") != strings.Join(l.Peers, ",") {
		t.Fatalf("ParseLink(%q) = %+v, want %+v", l.String(), back, l)
	}
	if !IsLink(l.String()) {
		t.Fatalf("IsLink(%q) = false", l.String())
	}
}

func FuzzParseLink(f *testing.F) {
	for _, s := range []string{
		"magnet:?xs=urn:btpk:" + testKey,
		"magnet:?xs=urn:btpk:" + testKey + "&s=6e&dn=Family+photos&x.pe=127.0.0.1:1",
		"magnet:?xt=urn:btih:" + strings.Repeat("ab", 20),
		"magnet:?xs.2=urn:btpk:" + testKey + "&dn=%E2%80%AE",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLink(s)
		if err != nil {
			if !errors.Is(err, ErrBadLink) {
				t.Fatalf("ParseLink(%q) = %v, not an ErrBadLink", s, err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("ParseLink(%q) error spans lines: %q", s, err)
			}
			return
		}
		if len(l.Salt) > 64 || len(l.Name) > maxNameLen || len(l.Peers) > MaxLinkPeer {
			t.Fatalf("ParseLink(%q) = %+v: over a limit", s, l)
		}
		if link.CleanName(l.Name) != l.Name {
			t.Fatalf("ParseLink(%q) name %q is not clean", s, l.Name)
		}
		checkRoundTrip(t, l)
	})
}
