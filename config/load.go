package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// FileName is the config file Load reads from the data directory when no
// file is named explicitly.
const FileName = "hearth.conf"

// maxFileSize bounds what Load reads: a config file is a few KiB, and a
// router has no memory for a mistaken multi-megabyte one.
const maxFileSize = 1 << 20

// Source kinds, from lowest to highest precedence.
const (
	SourceDefault = "default" // built into the profile
	SourceFile    = "file"    // the config file
	SourceAPI     = "api"     // a setting saved through the API
	SourceEnv     = "env"     // a HEARTH_* environment variable
	SourceFlag    = "flag"    // a command-line flag
)

// Source says which layer set a key's value.
type Source struct {
	Kind   string // SourceDefault, SourceFile, SourceAPI, SourceEnv or SourceFlag
	Detail string // "profile router", "/etc/hearth/hearth.conf:12", "saved setting", "HEARTH_PEER_PORT", "--peer-port"
}

func (s Source) String() string {
	if s.Detail == "" {
		return s.Kind
	}
	return s.Kind + " " + s.Detail
}

// Sources maps every config key to the layer that set its value.
type Sources map[string]Source

// LoadOptions are the inputs of Load besides the built-in defaults.
type LoadOptions struct {
	// File is an explicit config file (--config, HEARTH_CONFIG): it must
	// exist. When empty, DATA_DIR/hearth.conf is read if it exists, DATA_DIR
	// being data_dir as the flags, the environment or the default say.
	File string
	// Env is the environment in os.Environ form; nil is an empty
	// environment. HEARTH_* variables set keys, XDG_DATA_HOME and HOME
	// place the default data directory. HEARTH_API, HEARTH_CONFIG and
	// HEARTH_TEST* belong to others and are skipped; any other unknown
	// HEARTH_* variable is an error.
	Env []string
	// Flags maps config keys ("data_dir", "torrent.peer_port") to values
	// from command-line flags.
	Flags map[string]string
	// FlagNames optionally maps config keys to the flag as the user typed
	// it ("--peer-port"), for Sources and errors. Default: "--" + key.
	FlagNames map[string]string
	// Runtime maps config keys to values saved through the API; they
	// apply between the file and the environment. They may not change
	// version, profile or data_dir, which decide where they are stored.
	Runtime map[string]string
}

// Load builds the configuration from its layers, later ones winning:
// defaults of the profile < config file < runtime settings < environment <
// flags. The profile is chosen first, by flag, else HEARTH_PROFILE, else the
// file, else DefaultProfile. Every error names the key and where the value
// came from (file:line, variable, flag). The result is validated.
func Load(o LoadOptions) (*Config, Sources, error) {
	l, err := newLoader(o)
	if err != nil {
		return nil, nil, err
	}
	path, explicit := o.File, o.File != ""
	if !explicit {
		path = filepath.Join(l.dataDir(), FileName)
	}
	data, err := readFile(path)
	switch {
	case err == nil:
	case !explicit && errors.Is(err, fs.ErrNotExist):
		path, data = "", nil
	default:
		return nil, nil, fmt.Errorf("read config: %w", err)
	}
	return l.build(path, data)
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s is larger than %d KiB", path, maxFileSize>>10)
	}
	return data, nil
}

type loader struct {
	o          LoadOptions
	getenv     func(string) string
	env        []envSetting // sorted by variable name
	version    int          // CurrentVersion, but a test may migrate further
	migrations []migration
}

type envSetting struct {
	name  string // the variable as set, maybe an alias
	f     *field
	value string
}

// ignoredEnv are HEARTH_* variables that are not config keys.
func ignoredEnv(name string) bool {
	return name == "HEARTH_API" || name == "HEARTH_CONFIG" || strings.HasPrefix(name, "HEARTH_TEST")
}

func newLoader(o LoadOptions) (*loader, error) {
	vars := map[string]string{}
	for _, kv := range o.Env {
		if name, val, ok := strings.Cut(kv, "="); ok && name != "" {
			vars[name] = val // the last one wins, as in a shell
		}
	}
	l := &loader{o: o, getenv: func(n string) string { return vars[n] }, version: CurrentVersion, migrations: migrations}
	names := make([]string, 0)
	for name := range vars {
		if strings.HasPrefix(name, envPrefix) && !ignoredEnv(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		f := table().byEnv[name]
		if f == nil {
			if name == envName("version") {
				return nil, fmt.Errorf("env %s: version is set only by the config file", name)
			}
			var all []string
			for n := range table().byEnv {
				all = append(all, n)
			}
			slices.Sort(all)
			if hint := closest(name, all); hint != "" {
				return nil, fmt.Errorf("unknown environment variable %s (did you mean %s?)", name, hint)
			}
			return nil, fmt.Errorf("unknown environment variable %s (config keys are HEARTH_ + the key in upper case, like HEARTH_TORRENT_PEER_PORT)", name)
		}
		if name != f.env { // an alias
			if canon, ok := vars[f.env]; ok {
				if canon != vars[name] {
					return nil, fmt.Errorf("env %s=%q and %s=%q disagree", name, vars[name], f.env, canon)
				}
				continue
			}
		}
		l.env = append(l.env, envSetting{name: name, f: f, value: vars[name]})
	}
	return l, nil
}

func (l *loader) envValue(key string) (envSetting, bool) {
	for _, e := range l.env {
		if e.f.key == key {
			return e, true
		}
	}
	return envSetting{}, false
}

func (l *loader) flagName(key string) string {
	if n := l.o.FlagNames[key]; n != "" {
		return n
	}
	return "--" + key
}

// dataDir is where the implicit config file lives.
func (l *loader) dataDir() string {
	if v, ok := l.o.Flags["data_dir"]; ok {
		return v
	}
	if e, ok := l.envValue("data_dir"); ok {
		return e.value
	}
	return defaultDataDir(l.getenv)
}

// build applies the layers; data is the file's content, or nil without a file.
func (l *loader) build(path string, data []byte) (*Config, Sources, error) {
	var doc *document
	if data != nil {
		var err error
		if doc, err = parse(path, data); err != nil {
			return nil, nil, err
		}
		if err := migrate(doc, l.version, l.migrations); err != nil {
			return nil, nil, err
		}
	}

	profile, where := DefaultProfile, ""
	if v, ok := l.o.Flags["profile"]; ok {
		profile, where = v, "flag "+l.flagName("profile")
	} else if e, ok := l.envValue("profile"); ok {
		profile, where = e.value, "env "+e.name
	} else if doc != nil {
		for _, e := range doc.entries {
			if e.key == "profile" && !e.isList {
				profile, where = e.value, fmt.Sprintf("%s:%d", doc.name, e.line)
			}
		}
	}
	c, err := defaults(profile, l.getenv)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", where, err)
	}
	srcs := Sources{}
	for _, f := range table().fields {
		srcs[f.key] = Source{Kind: SourceDefault, Detail: "profile " + profile}
	}

	if doc != nil {
		if err := l.applyFile(c, srcs, doc); err != nil {
			return nil, nil, err
		}
	}
	for _, k := range sortedKeys(l.o.Runtime) {
		switch k {
		case "version", "profile", "data_dir":
			return nil, nil, fmt.Errorf("saved setting %s: cannot be changed at runtime", k)
		}
		if err := c.Set(k, l.o.Runtime[k]); err != nil {
			return nil, nil, fmt.Errorf("saved setting: %w", err)
		}
		srcs[k] = Source{Kind: SourceAPI, Detail: "saved setting"}
	}
	for _, e := range l.env {
		if err := c.Set(e.f.key, e.value); err != nil {
			return nil, nil, fmt.Errorf("env %s: %w", e.name, err)
		}
		srcs[e.f.key] = Source{Kind: SourceEnv, Detail: e.name}
	}
	for _, k := range sortedKeys(l.o.Flags) {
		name := l.flagName(k)
		if k == "version" {
			return nil, nil, fmt.Errorf("flag %s: version is set only by the config file", name)
		}
		if err := c.Set(k, l.o.Flags[k]); err != nil {
			return nil, nil, fmt.Errorf("flag %s: %w", name, err)
		}
		srcs[k] = Source{Kind: SourceFlag, Detail: name}
	}

	var errs []error
	for _, ke := range c.problems(is32bit) {
		if s := srcs[ke.Key]; s.Kind != SourceDefault {
			errs = append(errs, fmt.Errorf("%w (from %s)", ke, s))
		} else {
			errs = append(errs, ke)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return c, srcs, nil
}

func (l *loader) applyFile(c *Config, srcs Sources, d *document) error {
	c.Version = d.version
	if d.versionLine > 0 {
		srcs["version"] = Source{Kind: SourceFile, Detail: fmt.Sprintf("%s:%d", d.name, d.versionLine)}
	}
	for _, h := range d.headers {
		if !isSection(h.name) {
			if hint := closest(h.name, table().sections); hint != "" {
				return d.errorf(h.line, "unknown section %q (did you mean %q?)", h.name, hint)
			}
			return d.errorf(h.line, "unknown section %q (sections: %s)", h.name, strings.Join(table().sections, ", "))
		}
	}
	for _, e := range d.entries {
		f := table().byKey[e.key]
		switch {
		case f == nil && isSection(e.key):
			return d.errorf(e.line, "%q is a section: write [%s] on its own line, then its keys", e.key, e.key)
		case f == nil:
			return fmt.Errorf("%s:%d: %w", d.name, e.line, unknownKey(e.key))
		case e.isList && f.kind != kindList:
			return d.errorf(e.line, "%s: takes one %s, not an array", e.key, f.kind)
		case e.isList:
			c.setList(f, e.list)
		default:
			if err := c.Set(e.key, e.value); err != nil {
				return fmt.Errorf("%s:%d: %w", d.name, e.line, err)
			}
		}
		srcs[e.key] = Source{Kind: SourceFile, Detail: fmt.Sprintf("%s:%d", d.name, e.line)}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Entry is one line of `hearth config`.
type Entry struct {
	Key    string
	Value  string // as Get formats it
	Source Source // zero when s has no entry for the key
	Help   string
}

// Describe lists every key of c with its value, source and help, sorted by key.
func Describe(c *Config, s Sources) []Entry {
	out := make([]Entry, 0, len(table().fields))
	for _, f := range table().fields {
		out = append(out, Entry{Key: f.key, Value: c.get(f), Source: s[f.key], Help: f.help})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
