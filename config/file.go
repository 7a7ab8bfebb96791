package config

// The config file is a small TOML subset, parsed by hand to keep config on
// the standard library:
//
//	# comment
//	version = 1
//	profile = router               # bare values run to the end of the line or " #"
//	data_dir = "/var/lib/hearth"   # "..." with \" \\ \n \t \r \uXXXX escapes, or '...' taken literally
//	torrent.peer_port = 6881       # dotted keys work at top level
//
//	[torrent]                      # a section: the keys below are torrent.*
//	dht_bootstrap = ["10.0.0.1:6881", "nas.local:6881"]
//
// Every value is text to Set, so numbers, booleans and durations may be
// quoted or bare. Arrays are one line long. A key may appear once.

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// entry is one "key = value" line, key made absolute by its section.
type entry struct {
	key    string
	value  string   // when !isList
	list   []string // when isList: a [...] array
	isList bool
	line   int
}

// header is one "[section]" line.
type header struct {
	name string
	line int
}

// document is a parsed file before it is applied to a Config. Migrations
// rewrite it, so that old files keep their line numbers in errors.
type document struct {
	name        string // file name for errors
	version     int    // 0 when the file has no version line
	versionLine int
	headers     []header
	entries     []entry
}

func (d *document) errorf(line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", d.name, line, fmt.Sprintf(format, args...))
}

// parse checks the syntax of a config file. Whether keys and sections exist
// is decided later, after migrations.
func parse(name string, data []byte) (*document, error) {
	d := &document{name: name}
	data = bytes.TrimPrefix(data, []byte("\uFEFF")) // editors on Windows add a BOM
	section := ""
	seenKey := map[string]int{}
	seenSection := map[string]int{}
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		if !utf8.ValidString(line) {
			return nil, d.errorf(n, "invalid UTF-8")
		}
		s := strings.TrimLeft(strings.TrimSuffix(line, "\r"), " \t")
		if s == "" || s[0] == '#' {
			continue
		}
		if s[0] == '[' {
			name, err := parseHeader(s)
			if err != nil {
				return nil, d.errorf(n, "%s", err)
			}
			if first, ok := seenSection[name]; ok {
				return nil, d.errorf(n, "duplicate section [%s] (first on line %d)", name, first)
			}
			seenSection[name] = n
			d.headers = append(d.headers, header{name: name, line: n})
			section = name
			continue
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return nil, d.errorf(n, `expected "key = value" or "[section]"`)
		}
		key := strings.TrimRight(s[:eq], " \t")
		if key == "" {
			return nil, d.errorf(n, `missing key before "="`)
		}
		if !validKey(key) {
			return nil, d.errorf(n, "invalid key %q (letters, digits, _ - and dots only)", key)
		}
		if section != "" {
			key = section + "." + key
		}
		e := entry{key: key, line: n}
		var err error
		e.value, e.list, e.isList, err = parseValue(strings.TrimLeft(s[eq+1:], " \t"))
		if err != nil {
			return nil, d.errorf(n, "%s: %s", key, err)
		}
		if first, ok := seenKey[key]; ok {
			return nil, d.errorf(n, "duplicate key %q (first set on line %d)", key, first)
		}
		seenKey[key] = n
		if key == "version" {
			if e.isList {
				return nil, d.errorf(n, "version: must be a number, not an array")
			}
			v, err := strconv.Atoi(strings.TrimSpace(e.value))
			if err != nil {
				return nil, d.errorf(n, "version: %q is not a number", e.value)
			}
			if v < 1 {
				return nil, d.errorf(n, "version: %d is not a config version (they start at 1)", v)
			}
			d.version, d.versionLine = v, n
			continue
		}
		d.entries = append(d.entries, e)
	}
	return d, nil
}

func parseHeader(s string) (string, error) {
	if strings.HasPrefix(s, "[[") {
		return "", fmt.Errorf("arrays of tables ([[...]]) are not supported")
	}
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return "", fmt.Errorf("unterminated section header")
	}
	if err := checkTrailing(s[end+1:]); err != nil {
		return "", err
	}
	name := strings.Trim(s[1:end], " \t")
	if name == "" {
		return "", fmt.Errorf("empty section name")
	}
	if !validKey(name) {
		return "", fmt.Errorf("invalid section name %q", name)
	}
	return name, nil
}

func validKey(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return k != "" && k[0] != '.' && k[len(k)-1] != '.' && !strings.Contains(k, "..")
}

// parseValue parses what follows "=": a string, an array or a bare word.
func parseValue(s string) (value string, list []string, isList bool, err error) {
	switch {
	case s == "" || s[0] == '#':
		return "", nil, false, nil
	case s[0] == '"' || s[0] == '\'':
		v, rest, err := parseString(s)
		if err != nil {
			return "", nil, false, err
		}
		return v, nil, false, checkTrailing(rest)
	case s[0] == '[':
		list, rest, err := parseArray(s)
		if err != nil {
			return "", nil, false, err
		}
		return "", list, true, checkTrailing(rest)
	}
	// A bare value ends at a comment: "#" after a blank, as in shells, so
	// that a path like /media/a#b stays whole.
	for i := 1; i < len(s); i++ {
		if s[i] == '#' && (s[i-1] == ' ' || s[i-1] == '\t') {
			s = s[:i]
			break
		}
	}
	return strings.TrimRight(s, " \t"), nil, false, nil
}

// parseString parses a "basic" or 'literal' string at the start of s and
// returns it and the text after it.
func parseString(s string) (string, string, error) {
	if s[0] == '\'' {
		end := strings.IndexByte(s[1:], '\'')
		if end < 0 {
			return "", "", fmt.Errorf("unterminated string")
		}
		return s[1 : 1+end], s[2+end:], nil
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			if i+1 >= len(s) {
				return "", "", fmt.Errorf("unterminated string")
			}
			i++
			switch s[i] {
			case '"', '\\':
				b.WriteByte(s[i])
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'u':
				if i+4 >= len(s) {
					return "", "", fmt.Errorf(`invalid escape \u: want 4 hex digits`)
				}
				r, err := strconv.ParseUint(s[i+1:i+5], 16, 32)
				if err != nil || !utf8.ValidRune(rune(r)) {
					return "", "", fmt.Errorf(`invalid escape \u%s`, s[i+1:i+5])
				}
				b.WriteRune(rune(r))
				i += 4
			default:
				r, _ := utf8.DecodeRuneInString(s[i:])
				return "", "", fmt.Errorf(`invalid escape \%c in string (use \\ for a backslash)`, r)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", fmt.Errorf("unterminated string")
}

// parseArray parses a one-line [...] array of strings (quoted, or bare
// words without , ] # or quotes).
func parseArray(s string) ([]string, string, error) {
	var out []string
	i := 1
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			return nil, "", fmt.Errorf("unterminated array (arrays must be on one line)")
		}
		switch s[i] {
		case ']':
			return out, s[i+1:], nil
		case '"', '\'':
			v, rest, err := parseString(s[i:])
			if err != nil {
				return nil, "", err
			}
			out = append(out, v)
			i = len(s) - len(rest)
		case '[':
			return nil, "", fmt.Errorf("nested arrays are not supported")
		case ',':
			return nil, "", fmt.Errorf("empty array item")
		default:
			j := i
			for j < len(s) && s[j] != ',' && s[j] != ']' {
				if s[j] == '#' || s[j] == '"' || s[j] == '\'' {
					return nil, "", fmt.Errorf("invalid array item %q (quote it)", strings.TrimSpace(s[i:]))
				}
				j++
			}
			out = append(out, strings.TrimRight(s[i:j], " \t"))
			i = j
		}
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			return nil, "", fmt.Errorf("unterminated array (arrays must be on one line)")
		}
		switch s[i] {
		case ',':
			i++
		case ']':
			return out, s[i+1:], nil
		default:
			return nil, "", fmt.Errorf("expected , or ] in array, found %q", s[i:])
		}
	}
}

func checkTrailing(s string) error {
	s = strings.TrimLeft(s, " \t")
	if s == "" || s[0] == '#' {
		return nil
	}
	return fmt.Errorf("unexpected text after value: %q", s)
}

// marshal writes c in the file format: every key, with its help as a
// comment, top-level keys first and then one [section] each.
func (c *Config) marshal() []byte {
	var b bytes.Buffer
	b.WriteString("# Hearth configuration. Hearth rewrites this file when settings are saved:\n")
	b.WriteString("# comments other than these are not kept. Keys: `hearth config`.\n\n")
	fmt.Fprintf(&b, "# config format version (do not edit)\nversion = %d\n", CurrentVersion)
	section := ""
	for _, f := range table().fields {
		if f.key == "version" {
			continue
		}
		name := f.key
		if sec, key, ok := strings.Cut(f.key, "."); ok {
			if sec != section {
				fmt.Fprintf(&b, "\n[%s]\n", sec)
				section = sec
			}
			name = key
		}
		fmt.Fprintf(&b, "\n# %s\n%s = %s\n", f.help, name, c.fileValue(f))
	}
	return b.Bytes()
}

func (c *Config) fileValue(f *field) string {
	v := c.value(f)
	switch f.kind {
	case kindString:
		return quote(v.String())
	case kindDuration:
		return quote(c.get(f))
	case kindList:
		items := v.Interface().([]string)
		q := make([]string, len(items))
		for i, s := range items {
			q[i] = quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	return c.get(f)
}

// quote writes s as a basic string that parseString reads back unchanged.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
