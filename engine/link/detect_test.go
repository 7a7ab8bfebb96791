package link

import (
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	tests := []struct {
		in   string
		want Kind
	}{
		{"magnet:?xt=urn:btih:" + hexIH, KindMagnet},
		{"  MAGNET:?xt=urn:btih:" + hexIH + "\n", KindMagnet},
		{"magnet:?dn=no-infohash", KindMagnet}, // ParseMagnet explains what is wrong
		{"magnet:?xs=urn:btpk:" + pk + "&dn=photos", KindChannel},
		{"magnet:?xs.1=URN:BTPK:" + pk, KindChannel},
		{"magnet:?xt=urn:btih:" + hexIH + "&xs=urn:btpk:" + pk, KindChannel},
		{"magnet:?dn=urn:btpk:" + pk + "&xt=urn:btih:" + hexIH, KindMagnet},
		{hexIH, KindInfoHash},
		{strings.ToUpper(hexIH), KindInfoHash},
		{b32IH, KindInfoHash},
		{"http://127.0.0.1/x.torrent", KindURL},
		{"HTTPS://127.0.0.1/x.torrent?apikey=1", KindURL},
		{"d8:announce3:abc4:infod4:name1:aee", KindTorrentFile},
	}
	for _, tt := range tests {
		got, err := Detect(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Detect(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	bad := []struct {
		in       string
		sentinel error
	}{
		{"", nil},
		{"   ", nil},
		{"file:///etc/passwd", ErrUnsupportedScheme},
		{"ftp://127.0.0.1/x.torrent", ErrUnsupportedScheme},
		{"javascript:alert(1)", ErrUnsupportedScheme},
		{"magnet://xt=urn:btih:" + hexIH, nil},
		{"movie.torrent", nil},
		{hexIH[:39], nil},
		{"hello world", nil},
		{"\x00\x01", nil},
	}
	for _, tt := range bad {
		got, err := Detect(tt.in)
		wantErr(t, "Detect("+tt.in+")", err, tt.sentinel)
		if got != 0 {
			t.Errorf("Detect(%q) kind = %v, want 0 with an error", tt.in, got)
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindMagnet: "magnet", KindChannel: "channel", KindTorrentFile: "torrent file", KindURL: "url", KindInfoHash: "infohash", 0: "unknown"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}
