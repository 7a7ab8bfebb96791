package mdns

import (
	"errors"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestDefaultName(t *testing.T) {
	tests := []struct{ model, host, want string }{
		{"Hearth NAS", "kitchen", "Hearth NAS on kitchen"},
		{"Hearth NAS", "kitchen.lan", "Hearth NAS on kitchen"},
		{"", "kitchen", "Hearth on kitchen"},
		{"Hearth NAS", "", "Hearth NAS"},
		{"Hearth NAS", "localhost", "Hearth NAS"},
		{"Box", "box", "Box"},
		{strings.Repeat("é", 40), "h", strings.Repeat("é", 29)}, // 58 bytes: room for " (99)"
	}
	for _, tt := range tests {
		if got := DefaultName(tt.model, tt.host); got != tt.want {
			t.Errorf("DefaultName(%q, %q) = %q, want %q", tt.model, tt.host, got, tt.want)
		}
	}
}

func TestCandidateName(t *testing.T) {
	long := strings.Repeat("a", 63)
	tests := []struct {
		base string
		n    int
		want string
	}{
		{"NAS", 1, "NAS"},
		{"NAS", 2, "NAS (2)"},
		{"NAS", 12, "NAS (12)"},
		{long, 1, long},
		{long, 2, strings.Repeat("a", 59) + " (2)"},
	}
	for _, tt := range tests {
		got := candidateName(tt.base, tt.n)
		if got != tt.want || len(got) > maxLabel {
			t.Errorf("candidateName(%q, %d) = %q, want %q", tt.base, tt.n, got, tt.want)
		}
	}
}

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"NAS", "Living room. NAS (ü)", strings.Repeat("x", 63)} {
		if err := checkName(ok); err != nil {
			t.Errorf("checkName(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "  ", strings.Repeat("x", 64), "a\nb", "\xff"} {
		if err := checkName(bad); !errors.Is(err, ErrConfig) {
			t.Errorf("checkName(%q) = %v, want ErrConfig", bad, err)
		}
	}
}

func TestHostLabel(t *testing.T) {
	tests := []struct{ id, want string }{
		{"0A1B2C3D4E5F60718293", "hearth-0a1b2c3d4e5f"},
		{"ab_cd-ef", "hearth-abcdef"},
	}
	for _, tt := range tests {
		if got := hostLabel(tt.id); got != tt.want {
			t.Errorf("hostLabel(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
}

// TestEscapeRoundTrip packs names and TXT strings through miekg/dns as
// zeroconf does and checks that the wire carries the raw bytes and that
// unpacking gives back exactly the escaped form (zeroconf compares those
// strings to match questions).
func TestEscapeRoundTrip(t *testing.T) {
	for _, raw := range []string{"NAS", "Living room. NAS (2)", `a\b"c;d@e`, "Wohnzimmer-NAS Müller", "tab\there"} {
		checkRoundTrip(t, raw)
	}
}

func FuzzEscapeRoundTrip(f *testing.F) {
	for _, s := range []string{"NAS (2)", "x.y", `\123`, "ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if raw == "" || len(raw) > maxLabel {
			return
		}
		checkRoundTrip(t, raw)
	})
}

func checkRoundTrip(t *testing.T, raw string) {
	t.Helper()
	name := escapeLabel(raw) + "._hearth._tcp.local."
	m := new(dns.Msg)
	m.Response = true
	m.Answer = []dns.RR{&dns.TXT{
		Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 120},
		Txt: []string{escapeTXT("name=" + raw)},
	}}
	buf, err := m.Pack()
	if err != nil {
		t.Fatalf("pack %q: %v", raw, err)
	}
	if int(buf[12]) != len(raw) || string(buf[13:13+len(raw)]) != raw {
		t.Fatalf("wire label for %q = %q, want the raw bytes", raw, buf[13:13+int(buf[12])])
	}
	var back dns.Msg
	if err := back.Unpack(buf); err != nil {
		t.Fatalf("unpack %q: %v", raw, err)
	}
	rr := back.Answer[0].(*dns.TXT)
	if rr.Hdr.Name != name {
		t.Errorf("unpacked name = %q, want %q", rr.Hdr.Name, name)
	}
	label, rest := firstLabel(rr.Hdr.Name)
	if unescape(label) != raw || rest != "_hearth._tcp.local." {
		t.Errorf("firstLabel(%q) = %q, %q; unescaped %q, want %q", rr.Hdr.Name, label, rest, unescape(label), raw)
	}
	if got := unescape(rr.Txt[0]); got != "name="+raw {
		t.Errorf("TXT round trip = %q, want %q", got, "name="+raw)
	}
}
