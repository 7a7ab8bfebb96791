package config

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// KeyInfo describes one configuration key, for help texts and `hearth config`.
type KeyInfo struct {
	Key  string // dotted name: "data_dir", "torrent.peer_port"
	Help string // one line, from the field's help tag
	Type string // string, int, bool, float, duration or list
	Env  string // environment variable that sets it; "" when none (version)
}

// KeyError is a problem with one key: it does not exist, or its value does
// not parse or is out of range. Set, Validate, Default and Load return it,
// Load wrapped with where the value came from; find it with errors.As.
type KeyError struct {
	Key string
	// Unknown is true when no such key exists; Reason is then empty.
	Unknown bool
	// Reason says what is wrong with the value.
	Reason string

	hint string // a key the caller probably meant
}

func (e *KeyError) Error() string {
	if e.Unknown {
		if e.hint != "" {
			return fmt.Sprintf("unknown key %q (did you mean %q?)", e.Key, e.hint)
		}
		return fmt.Sprintf("unknown key %q", e.Key)
	}
	return e.Key + ": " + e.Reason
}

func badValue(key, format string, args ...any) *KeyError {
	return &KeyError{Key: key, Reason: fmt.Sprintf(format, args...)}
}

func unknownKey(key string) *KeyError {
	return &KeyError{Key: key, Unknown: true, hint: closest(key, keyNames())}
}

// kind is the value type of a key; the names are what KeyInfo.Type reports.
type kind int

const (
	kindString kind = iota
	kindInt
	kindBool
	kindFloat
	kindDuration
	kindList
)

func (k kind) String() string {
	switch k {
	case kindString:
		return "string"
	case kindInt:
		return "int"
	case kindBool:
		return "bool"
	case kindFloat:
		return "float"
	case kindDuration:
		return "duration"
	case kindList:
		return "list"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// field is one leaf of Config, found by reflection over the key tags, so a
// new field needs a tag and nothing else (plus a validation rule, which a
// test demands).
type field struct {
	key   string
	help  string
	env   string
	kind  kind
	index []int
}

type keyTable struct {
	fields   []*field // struct order: top-level keys, then each section
	byKey    map[string]*field
	byEnv    map[string]*field // canonical names and aliases
	sections []string          // section names in struct order
}

// envPrefix starts every environment variable Hearth reads.
const envPrefix = "HEARTH_"

// envAliases are short names the CLI documents, besides the canonical
// HEARTH_ + upper-snake key.
var envAliases = map[string]string{
	"HEARTH_PEER_PORT": "torrent.peer_port",
}

// table is built on first use; Config's tags are fixed at compile time, so
// a malformed tag is a programming error caught by the tests, not input.
var table = sync.OnceValue(func() *keyTable {
	t := &keyTable{byKey: map[string]*field{}, byEnv: map[string]*field{}}
	t.walk(reflect.TypeFor[Config](), "", nil)
	for _, f := range t.fields {
		if f.key == "version" {
			continue // only the file sets it
		}
		f.env = envName(f.key)
		t.byEnv[f.env] = f
	}
	for name, key := range envAliases {
		t.byEnv[name] = t.byKey[key]
	}
	return t
})

var durationType = reflect.TypeFor[time.Duration]()

func (t *keyTable) walk(typ reflect.Type, prefix string, index []int) {
	for i := range typ.NumField() {
		sf := typ.Field(i)
		name := sf.Tag.Get("key")
		if name == "" || !sf.IsExported() {
			panic(fmt.Sprintf("config: field %s.%s has no key tag", typ.Name(), sf.Name))
		}
		key := prefix + name
		idx := append(slices.Clone(index), i)
		if sf.Type.Kind() == reflect.Struct {
			if prefix != "" {
				panic(fmt.Sprintf("config: section %s is nested; sections are one level deep", key))
			}
			t.sections = append(t.sections, key)
			t.walk(sf.Type, key+".", idx)
			continue
		}
		f := &field{key: key, help: sf.Tag.Get("help"), index: idx}
		switch {
		case sf.Type == durationType:
			f.kind = kindDuration
		case sf.Type.Kind() == reflect.String:
			f.kind = kindString
		case sf.Type.Kind() == reflect.Int:
			f.kind = kindInt
		case sf.Type.Kind() == reflect.Bool:
			f.kind = kindBool
		case sf.Type.Kind() == reflect.Float64:
			f.kind = kindFloat
		case sf.Type.Kind() == reflect.Slice && sf.Type.Elem().Kind() == reflect.String:
			f.kind = kindList
		default:
			panic(fmt.Sprintf("config: field %s has unsupported type %s", key, sf.Type))
		}
		if _, dup := t.byKey[key]; dup {
			panic(fmt.Sprintf("config: duplicate key %s", key))
		}
		t.fields = append(t.fields, f)
		t.byKey[key] = f
	}
}

func envName(key string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

func keyNames() []string {
	names := make([]string, 0, len(table().fields))
	for _, f := range table().fields {
		names = append(names, f.key)
	}
	return names
}

func isSection(name string) bool { return slices.Contains(table().sections, name) }

// Keys lists every key in struct order (top-level keys, then each section).
func Keys() []KeyInfo {
	out := make([]KeyInfo, 0, len(table().fields))
	for _, f := range table().fields {
		out = append(out, KeyInfo{Key: f.key, Help: f.help, Type: f.kind.String(), Env: f.env})
	}
	return out
}

func (c *Config) value(f *field) reflect.Value {
	return reflect.ValueOf(c).Elem().FieldByIndex(f.index)
}

// Set parses value and stores it under key. Every layer goes through it.
// Booleans take true/false, yes/no, on/off, 1/0; durations take Go syntax
// ("90m", "1h30m") or whole seconds ("90"); lists are comma separated, with
// blanks around items dropped. Setting "profile" does not reapply that
// profile's defaults: Load chooses the profile before anything else.
func (c *Config) Set(key, value string) error {
	f := table().byKey[key]
	if f == nil {
		if isSection(key) {
			return badValue(key, "is a section, not a key")
		}
		return unknownKey(key)
	}
	v := c.value(f)
	switch f.kind {
	case kindString:
		v.SetString(value)
	case kindInt:
		n, err := parseInt(f.key, value)
		if err != nil {
			return err
		}
		v.SetInt(int64(n))
	case kindBool:
		b, err := parseBool(f.key, value)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case kindFloat:
		x, err := parseFloat(f.key, value)
		if err != nil {
			return err
		}
		v.SetFloat(x)
	case kindDuration:
		d, err := parseDuration(f.key, value)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
	case kindList:
		v.Set(reflect.ValueOf(splitList(value)))
	}
	return nil
}

// setList stores a list value from a file array as is (items may contain commas).
func (c *Config) setList(f *field, items []string) {
	if len(items) == 0 {
		items = nil
	}
	c.value(f).Set(reflect.ValueOf(slices.Clone(items)))
}

// Get returns the value of key formatted so that Set accepts it back.
func (c *Config) Get(key string) (string, error) {
	f := table().byKey[key]
	if f == nil {
		return "", unknownKey(key)
	}
	return c.get(f), nil
}

func (c *Config) get(f *field) string {
	v := c.value(f)
	switch f.kind {
	case kindInt:
		return strconv.FormatInt(v.Int(), 10)
	case kindBool:
		return strconv.FormatBool(v.Bool())
	case kindFloat:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case kindDuration:
		return formatDuration(time.Duration(v.Int()))
	case kindList:
		return strings.Join(v.Interface().([]string), ",")
	}
	return v.String()
}

// Clone returns a deep copy.
func (c *Config) Clone() *Config {
	if c == nil {
		return nil
	}
	n := *c
	for _, f := range table().fields {
		if f.kind == kindList {
			v := n.value(f)
			v.Set(reflect.ValueOf(slices.Clone(v.Interface().([]string))))
		}
	}
	return &n
}

func parseInt(key, s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, badValue(key, "%q is too large", s)
		}
		return 0, badValue(key, "%q is not a number", s)
	}
	return n, nil
}

func parseBool(key, s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	}
	return false, badValue(key, "%q is not a boolean (true/false, yes/no, on/off, 1/0)", s)
}

func parseFloat(key, s string) (float64, error) {
	x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, badValue(key, "%q is not a number", s)
	}
	return x, nil
}

func parseDuration(key, s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if n, err := strconv.ParseInt(t, 10, 64); err == nil {
		if n > math.MaxInt64/int64(time.Second) || n < math.MinInt64/int64(time.Second) {
			return 0, badValue(key, "%q is too large", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, badValue(key, "%q is not a duration (like 90m, 1h30m, or seconds)", s)
	}
	return d, nil
}

// formatDuration is Duration.String without the trailing zero units: "1h30m", not "1h30m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// splitList splits a comma-separated list, dropping blanks around and
// between items; an empty list is nil.
func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// closest returns the candidate the user most likely meant by s: one whose
// last part equals s ("peer_port" → "torrent.peer_port"), else the nearest
// within edit distance 2, else "".
func closest(s string, candidates []string) string {
	for _, c := range candidates {
		if i := strings.LastIndexByte(c, '.'); i >= 0 && c[i+1:] == s {
			return c
		}
	}
	best, bestD := "", 3
	for _, c := range candidates {
		if d := editDistance(s, c, bestD); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or limit when it is at least limit.
func editDistance(a, b string, limit int) int {
	if len(a) > 64 || len(b) > 64 {
		return limit // not a typo of a key
	}
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}
