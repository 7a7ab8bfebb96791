package link

import (
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/metainfo"
)

const (
	hexIH = "0123456789abcdef0123456789abcdef01234567"
	pk    = "8543d3e6115f0f98c944077a4493dcd543e49c739fd998550a1f614ab36ed63e"
)

var (
	ih, _ = hex.DecodeString(hexIH)
	b32IH = base32.StdEncoding.EncodeToString(ih)
)

func TestParseMagnetGood(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		want  Magnet // Raw is not compared
		canon string // want String(), when given
	}{
		{name: "hex", in: "magnet:?xt=urn:btih:" + hexIH,
			canon: "magnet:?xt=urn:btih:" + hexIH},
		{name: "upper-case hex and scheme", in: "MAGNET:?XT=URN:BTIH:" + strings.ToUpper(hexIH)},
		{name: "base32", in: "magnet:?xt=urn:btih:" + b32IH},
		{name: "lower-case base32", in: "magnet:?xt=urn:btih:" + strings.ToLower(b32IH)},
		{name: "bare hex infohash", in: hexIH},
		{name: "bare base32 infohash", in: b32IH},
		{name: "surrounding space", in: "  magnet:?xt=urn:btih:" + hexIH + "\n"},
		{name: "url-encoded fields",
			in:    "magnet:?xt=urn%3Abtih%3A" + hexIH + "&dn=My%20Album+%26+More&tr=udp%3A%2F%2F127.0.0.1%3A6969%2Fannounce",
			want:  Magnet{Name: "My Album & More", Trackers: []string{"udp://127.0.0.1:6969/announce"}},
			canon: "magnet:?xt=urn:btih:" + hexIH + "&dn=My+Album+%26+More&tr=udp%3A%2F%2F127.0.0.1%3A6969%2Fannounce"},
		{name: "semicolon in name", in: "magnet:?xt=urn:btih:" + hexIH + "&dn=a;b", want: Magnet{Name: "a;b"}},
		{name: "numbered parameters", in: "magnet:?xt.1=urn:btih:" + hexIH + "&tr.1=http://127.0.0.1/a&tr.2=http://127.0.0.1/b",
			want: Magnet{Trackers: []string{"http://127.0.0.1/a", "http://127.0.0.1/b"}}},
		{name: "same infohash twice (hex and base32)", in: "magnet:?xt=urn:btih:" + hexIH + "&xt=urn:btih:" + b32IH},
		{name: "hybrid: btmh ignored", in: "magnet:?xt=urn:btih:" + hexIH + "&xt=urn:btmh:1220" + strings.Repeat("ab", 32)},
		{name: "other xt ignored", in: "magnet:?xt=urn:sha1:ABCDEF&xt=urn:btih:" + hexIH},
		{name: "trackers: bad, unsupported and duplicate dropped",
			in:   "magnet:?xt=urn:btih:" + hexIH + "&tr=wss://tracker.example/x&tr=http://127.0.0.1:8000/announce&tr=not a url&tr=udp://127.0.0.1/no-port&tr=ftp://127.0.0.1/&tr=http://127.0.0.1:8000/announce&tr=https://127.0.0.1/announce?passkey=abc&tr=http://127.0.0.1:0/zero-port",
			want: Magnet{Trackers: []string{"http://127.0.0.1:8000/announce", "https://127.0.0.1/announce?passkey=abc"}}},
		{name: "peers: valid kept and normalised, bad dropped",
			in:   "magnet:?xt=urn:btih:" + hexIH + "&x.pe=127.0.0.1:6881&x.pe=[::1]:0051&x.pe=[0:0::1]:51&x.pe=nas.local:6881&x.pe=noport&x.pe=1.2.3.4:99999&x.pe=[fe80::1%25eth0]:1&x.pe=bad_host!:1&x.pe=127.0.0.1:6881",
			want: Magnet{Peers: []string{"127.0.0.1:6881", "[::1]:51", "nas.local:6881"}}},
		{name: "name cleaned", in: "magnet:?xt=urn:btih:" + hexIH + "&dn=%20a%00b%1b[31mc%E2%80%AEgpj.exe%FF%20", want: Magnet{Name: "ab[31mcgpj.exe\uFFFD"}},
		{name: "first name wins", in: "magnet:?xt=urn:btih:" + hexIH + "&dn=one&dn=two", want: Magnet{Name: "one"}},
		{name: "empty parameters skipped", in: "magnet:?&&xt=urn:btih:" + hexIH + "&&"},
		{name: "xs URL ignored", in: "magnet:?xt=urn:btih:" + hexIH + "&xs=http://127.0.0.1/x.torrent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMagnet(tt.in)
			if err != nil {
				t.Fatalf("ParseMagnet(%q) = %v, want success", tt.in, err)
			}
			want := tt.want
			copy(want.InfoHash[:], ih)
			want.Raw = strings.TrimSpace(tt.in)
			if got.InfoHash != want.InfoHash || got.Name != want.Name || got.Raw != want.Raw ||
				!slices.Equal(got.Trackers, want.Trackers) || !slices.Equal(got.Peers, want.Peers) {
				t.Errorf("ParseMagnet(%q) = %+v, want %+v", tt.in, got, want)
			}
			if tt.canon != "" && got.String() != tt.canon {
				t.Errorf("String() = %q, want %q", got.String(), tt.canon)
			}
			checkMagnetRoundTrip(t, got)
		})
	}
}

func TestParseMagnetCaps(t *testing.T) {
	var peers strings.Builder
	for i := 0; i < MaxPeers+20; i++ {
		fmt.Fprintf(&peers, "&x.pe=127.0.0.1:%d", i+1)
	}
	m, err := ParseMagnet("magnet:?xt=urn:btih:" + hexIH + manyTrackers(MaxTrackers+20, "a") + peers.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Trackers) != MaxTrackers || m.Trackers[0] != "http://127.0.0.1/0/a" {
		t.Errorf("kept %d trackers starting %q, want the first %d", len(m.Trackers), m.Trackers[0], MaxTrackers)
	}
	if len(m.Peers) != MaxPeers || m.Peers[0] != "127.0.0.1:1" {
		t.Errorf("kept %d peers starting %q, want the first %d", len(m.Peers), m.Peers[0], MaxPeers)
	}
}

func TestParseMagnetBad(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		sentinel error
	}{
		{"empty", "", nil},
		{"no query", "magnet:", nil},
		{"no question mark", "magnet:xt=urn:btih:" + hexIH, nil},
		{"no xt", "magnet:?dn=x", nil},
		{"only empty parameters", "magnet:?&&", nil},
		{"empty btih", "magnet:?xt=urn:btih:", nil},
		{"channel link", "magnet:?xs=urn:btpk:" + pk + "&dn=photos", ErrChannelLink},
		{"channel link with salt", "magnet:?xs=urn:btpk:" + pk + "&s=6e" + "&dn=x", ErrChannelLink},
		{"channel link in xt", "magnet:?xt=urn:btpk:" + pk, ErrChannelLink},
		{"channel link with a btih too", "magnet:?xt=urn:btih:" + hexIH + "&xs=urn:BTPK:" + pk, ErrChannelLink},
		{"v2 only", "magnet:?xt=urn:btmh:1220" + strings.Repeat("ab", 32), ErrV2Only},
		{"bad hex", "magnet:?xt=urn:btih:" + strings.Repeat("g", 40), nil},
		{"39 characters", "magnet:?xt=urn:btih:" + hexIH[:39], nil},
		{"41 characters", "magnet:?xt=urn:btih:" + hexIH + "0", nil},
		{"bad base32", "magnet:?xt=urn:btih:" + strings.Repeat("1", 32), nil},
		{"two infohashes", "magnet:?xt=urn:btih:" + hexIH + "&xt=urn:btih:" + strings.Repeat("f", 40), nil},
		{"bad escape", "magnet:?xt=urn:btih:" + hexIH + "&dn=%zz", nil},
		{"bad escape in key", "magnet:?x%t=1&xt=urn:btih:" + hexIH, nil},
		{"huge", "magnet:?xt=urn:btih:" + hexIH + "&dn=" + strings.Repeat("a", MaxMagnetLen), ErrTooLarge},
		{"huge once escaped", "magnet:?xt=urn:btih:" + hexIH + manyTrackers(95, strings.Repeat("é", 20)), ErrTooLarge},
		{"http URL", "http://127.0.0.1/x.torrent", nil},
		{"bare hash 39", hexIH[:39], nil},
		{"newline in hash", "magnet:?xt=urn:btih:" + hexIH[:20] + "\n" + hexIH[21:], nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMagnet(tt.in)
			if err == nil {
				t.Fatalf("ParseMagnet(%q) = %v, nil; want an error", clip(tt.in), got)
			}
			wantErr(t, "ParseMagnet", err, tt.sentinel)
			t.Logf("%v", err)
		})
	}
}

// TestMagnetStringAnacrolix checks that anacrolix reads the canonical link
// the same way.
func TestMagnetStringAnacrolix(t *testing.T) {
	m, err := ParseMagnet("magnet:?xt=urn:btih:" + hexIH + "&dn=A+%26+B%3Bc&tr=udp://127.0.0.1:6969&x.pe=127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	am, err := metainfo.ParseMagnetUri(m.String())
	if err != nil {
		t.Fatalf("metainfo.ParseMagnetUri(%q) = %v", m.String(), err)
	}
	if am.InfoHash != m.InfoHash || am.DisplayName != m.Name || !slices.Equal(am.Trackers, m.Trackers) || am.Params.Get("x.pe") != m.Peers[0] {
		t.Errorf("anacrolix reads %q as %+v, want %+v", m.String(), am, m)
	}
}

func TestParseInfoHash(t *testing.T) {
	for _, s := range []string{hexIH, strings.ToUpper(hexIH), b32IH, strings.ToLower(b32IH), " " + hexIH + "\n"} {
		got, err := ParseInfoHash(s)
		if err != nil || hex.EncodeToString(got[:]) != hexIH {
			t.Errorf("ParseInfoHash(%q) = %x, %v; want %s", s, got, err, hexIH)
		}
	}
	for _, s := range []string{"", hexIH[:39], hexIH + "00", strings.Repeat("z", 40), strings.Repeat("1", 32), "magnet:?xt=urn:btih:" + hexIH} {
		_, err := ParseInfoHash(s)
		wantErr(t, "ParseInfoHash("+s+")", err, nil)
	}
}

// checkMagnetRoundTrip: the canonical link parses back to the same magnet.
func checkMagnetRoundTrip(t testing.TB, m Magnet) {
	t.Helper()
	s := m.String()
	if len(s) > MaxMagnetLen {
		t.Fatalf("String() is %d bytes, more than MaxMagnetLen", len(s))
	}
	back, err := ParseMagnet(s)
	if err != nil {
		t.Fatalf("ParseMagnet(%q) (from String) = %v", s, err)
	}
	if back.InfoHash != m.InfoHash || back.Name != m.Name || !slices.Equal(back.Trackers, m.Trackers) || !slices.Equal(back.Peers, m.Peers) {
		t.Fatalf("ParseMagnet(String()) = %+v, want %+v", back, m)
	}
	if back.String() != s {
		t.Fatalf("String() is not stable: %q then %q", s, back.String())
	}
	for _, tr := range m.Trackers {
		if !validTracker(tr) {
			t.Fatalf("tracker %q kept but not valid", tr)
		}
	}
	if len(m.Trackers) > MaxTrackers || len(m.Peers) > MaxPeers || len(m.Name) > maxNameLen {
		t.Fatalf("limits exceeded: %d trackers, %d peers, %d-byte name", len(m.Trackers), len(m.Peers), len(m.Name))
	}
}

func manyTrackers(n int, suffix string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "&tr=http://127.0.0.1/%d/%s", i, suffix)
	}
	return b.String()
}
