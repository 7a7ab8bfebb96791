package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	in := "\uFEFF# comment\r\n" +
		"version = 1\r\n" +
		"  listen = 127.0.0.1:9091   # trailing comment\n" +
		"data_dir = /media/a#b\n" +
		"torrent.peer_port=6881\n" +
		"\n" +
		"[ torrent ]  # section comment\n" +
		"download_dir = \"C:\\\\x \\\"q\\\" \\n\\t\\r \\u00e9 # not a comment\"\n" +
		"dht_bootstrap = [\"a:1\", 'b:2' , c:3,]\n" +
		"encryption = 'a\\b'\n" +
		"ipv6 =\n" +
		"[queue]\n" +
		"seed_idle = \"\" # empty\n" +
		"max_seeds = []\n"
	d, err := parse("t.conf", []byte(in))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if d.version != 1 || d.versionLine != 2 {
		t.Errorf("version = %d on line %d, want 1 on line 2", d.version, d.versionLine)
	}
	want := []entry{
		{key: "listen", value: "127.0.0.1:9091", line: 3},
		{key: "data_dir", value: "/media/a#b", line: 4},
		{key: "torrent.peer_port", value: "6881", line: 5},
		{key: "torrent.download_dir", value: "C:\\x \"q\" \n\t\r é # not a comment", line: 8},
		{key: "torrent.dht_bootstrap", list: []string{"a:1", "b:2", "c:3"}, isList: true, line: 9},
		{key: "torrent.encryption", value: `a\b`, line: 10},
		{key: "torrent.ipv6", value: "", line: 11},
		{key: "queue.seed_idle", value: "", line: 13},
		{key: "queue.max_seeds", isList: true, line: 14},
	}
	if !reflect.DeepEqual(d.entries, want) {
		t.Errorf("entries:\n got %+v\nwant %+v", d.entries, want)
	}
	wantHeaders := []header{{"torrent", 7}, {"queue", 12}}
	if !reflect.DeepEqual(d.headers, wantHeaders) {
		t.Errorf("headers = %v, want %v", d.headers, wantHeaders)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"unterminated string", "a = 1\nlisten = \"abc\n", `x.conf:2: listen: unterminated string`},
		{"unterminated string at backslash", `listen = "abc\`, `x.conf:1: listen: unterminated string`},
		{"unterminated literal", "listen = 'abc", `x.conf:1: listen: unterminated string`},
		{"bad escape", `listen = "a\qb"`, `x.conf:1: listen: invalid escape \q in string`},
		{"short unicode escape", `listen = "\u12"`, `x.conf:1: listen: invalid escape \u: want 4 hex digits`},
		{"bad unicode escape", `listen = "\uzzzz"`, `x.conf:1: listen: invalid escape \uzzzz`},
		{"surrogate escape", `listen = "\ud800"`, `x.conf:1: listen: invalid escape \ud800`},
		{"text after string", `listen = "a" b`, `x.conf:1: listen: unexpected text after value: "b"`},
		{"text after array", `torrent.dht_bootstrap = ["a"] b`, `x.conf:1: torrent.dht_bootstrap: unexpected text after value: "b"`},
		{"unterminated array", `torrent.dht_bootstrap = ["a", "b"`, `x.conf:1: torrent.dht_bootstrap: unterminated array`},
		{"array over lines", "torrent.dht_bootstrap = [\n\"a\"]", `x.conf:1: torrent.dht_bootstrap: unterminated array`},
		{"empty array item", `torrent.dht_bootstrap = ["a",,"b"]`, `x.conf:1: torrent.dht_bootstrap: empty array item`},
		{"nested array", `torrent.dht_bootstrap = [["a"]]`, `x.conf:1: torrent.dht_bootstrap: nested arrays are not supported`},
		{"missing comma", `torrent.dht_bootstrap = ["a" "b"]`, `x.conf:1: torrent.dht_bootstrap: expected , or ] in array`},
		{"comment in array", `torrent.dht_bootstrap = [a # b]`, `x.conf:1: torrent.dht_bootstrap: invalid array item`},
		{"no equals", "\n\nlisten 127.0.0.1:80", `x.conf:3: expected "key = value" or "[section]"`},
		{"no key", "= 5", `x.conf:1: missing key before "="`},
		{"bad key", "peer port = 5", `x.conf:1: invalid key "peer port"`},
		{"dotted key ends in dot", "torrent. = 5", `x.conf:1: invalid key "torrent."`},
		{"quoted key", `"listen" = x`, `x.conf:1: invalid key "\"listen\""`},
		{"unterminated header", "[torrent", `x.conf:1: unterminated section header`},
		{"empty header", "[ ]", `x.conf:1: empty section name`},
		{"bad header", "[tor rent]", `x.conf:1: invalid section name "tor rent"`},
		{"text after header", "[torrent] x", `x.conf:1: unexpected text after value: "x"`},
		{"array of tables", "[[torrent]]", `x.conf:1: arrays of tables ([[...]]) are not supported`},
		{"duplicate key", "listen = a:1\nlisten = b:2", `x.conf:2: duplicate key "listen" (first set on line 1)`},
		{"duplicate key dotted and section", "torrent.peer_port = 1\n[torrent]\npeer_port = 2", `x.conf:3: duplicate key "torrent.peer_port" (first set on line 1)`},
		{"duplicate section", "[log]\n[torrent]\n[log]", `x.conf:3: duplicate section [log] (first on line 1)`},
		{"duplicate version", "version = 1\nversion = 1", `x.conf:2: duplicate key "version" (first set on line 1)`},
		{"bad version", "version = one", `x.conf:1: version: "one" is not a number`},
		{"zero version", "version = 0", `x.conf:1: version: 0 is not a config version`},
		{"array version", "version = [1]", `x.conf:1: version: must be a number, not an array`},
		{"invalid utf-8", "# ok\nlisten = \"\xff\"", `x.conf:2: invalid UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := parse("x.conf", []byte(tt.in))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("parse(%q) = %v, %v; want error %s", tt.in, d, err, tt.want)
			}
		})
	}
}

func TestQuote(t *testing.T) {
	for _, s := range []string{"", "plain", `a"b`, `back\slash`, "new\nline\ttab\rcr", "\x00\x01\x1f\x7f", "é ünïcode ☃", "#", "'"} {
		q := quote(s)
		got, rest, err := parseString(q)
		if err != nil || rest != "" || got != s {
			t.Errorf("parseString(quote(%q) = %s) = %q, %q, %v; want %q", s, q, got, rest, err, s)
		}
		if strings.ContainsAny(q, "\n\r\x00") {
			t.Errorf("quote(%q) = %q holds a raw control character", s, q)
		}
	}
}
