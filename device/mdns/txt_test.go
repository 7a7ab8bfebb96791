package mdns

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestTXTRecords(t *testing.T) {
	info := txtInfo{id: "abc", name: "NAS", model: "M", version: "1.0", pairing: true,
		extra: map[string]string{"ch": "x", "b": "y"}}
	got, err := info.records()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"id=abc", "name=NAS", "model=M", "ver=1.0", "api=/api/v1", "rpc=/transmission/rpc", "pair=1", "b=y", "ch=x"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("records() = %q, want %q", got, want)
	}

	tooLong := txtInfo{id: "a", extra: map[string]string{"ch": strings.Repeat("x", 253)}}
	if _, err := tooLong.records(); !errors.Is(err, ErrConfig) {
		t.Errorf("records() with a 256-byte entry = %v, want ErrConfig", err)
	}
	big := map[string]string{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
		big[k] = strings.Repeat("x", 250)
	}
	if _, err := (txtInfo{id: "a", extra: big}).records(); !errors.Is(err, ErrConfig) {
		t.Errorf("records() over 1300 bytes = %v, want ErrConfig", err)
	}
}

func TestCheckExtra(t *testing.T) {
	tests := []struct {
		m  map[string]string
		ok bool
	}{
		{map[string]string{"ch": "x"}, true},
		{map[string]string{"ch0": "", "ch1": "y"}, true},
		{map[string]string{"": "x"}, false},
		{map[string]string{"toolongkey": "x"}, false},
		{map[string]string{"a=b": "x"}, false},
		{map[string]string{"a b": "x"}, false},
		{map[string]string{"ID": "x"}, false},
		{map[string]string{"pair": "1"}, false},
	}
	for _, tt := range tests {
		err := checkExtra(tt.m)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrConfig)) {
			t.Errorf("checkExtra(%v) = %v, want ok=%v", tt.m, err, tt.ok)
		}
	}
}

func TestParseTXT(t *testing.T) {
	got := parseTXT([]string{"ID=abc", "id=ignored", "pair=1", "flag", "=novalue", "k=a=b"})
	want := map[string]string{"id": "abc", "pair": "1", "flag": "", "k": "a=b"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseTXT = %v, want %v", got, want)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"minimal", Config{ID: "abc", Port: 9091}, true},
		{"no id", Config{Port: 9091}, false},
		{"bad id", Config{ID: "a b", Port: 9091}, false},
		{"no port", Config{ID: "abc"}, false},
		{"port too big", Config{ID: "abc", Port: 70000}, false},
		{"long name", Config{ID: "abc", Port: 1, Name: strings.Repeat("n", 64)}, false},
		{"reserved TXT", Config{ID: "abc", Port: 1, TXT: map[string]string{"ver": "2"}}, false},
	}
	for _, tt := range tests {
		c := tt.cfg
		err := normalize(&c)
		if (err == nil) != tt.ok {
			t.Errorf("%s: normalize = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err == nil && (c.Name == "" || c.Model == "" || c.PollInterval <= 0) {
			t.Errorf("%s: normalize left defaults unset: %+v", tt.name, c)
		}
	}
}

func TestInterfacesUnknownName(t *testing.T) {
	// Only lists the host's interfaces; sends nothing.
	if _, err := Interfaces([]string{"hearth-no-such-if0"}); !errors.Is(err, ErrConfig) {
		t.Errorf("Interfaces(unknown) = %v, want ErrConfig", err)
	}
}

func TestServiceFQDN(t *testing.T) {
	tests := []struct{ in, want string }{
		{"_hearth._tcp", "_hearth._tcp.local."},
		{"_http._tcp.local.", "_http._tcp.local."},
		{"_x._udp.local", "_x._udp.local."},
		{"hearth", ""},
		{"_a._b", ""},
	}
	for _, tt := range tests {
		got, err := serviceFQDN(tt.in)
		if got != tt.want || (err == nil) != (tt.want != "") {
			t.Errorf("serviceFQDN(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}
