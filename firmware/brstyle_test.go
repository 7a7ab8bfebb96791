package firmware

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// Buildroot's utils/check-package could not be run here (Buildroot is in
// no reachable package registry), so brStyle re-implements the rules it
// applies to a BR2_EXTERNAL tree, from its checkpackagelib: lib (trailing
// space, consecutive and trailing empty lines, newline at EOF, UTF-8),
// lib_mk (header, indent, backslashes, variable prefixes, useless
// defaults, ${} variables, overrides), lib_config (indent, help text
// width, attribute order, "default n"), lib_sysv (tabs, DAEMON and PIDFILE,
// file name, shellcheck), lib_defconfig (forced hash checks) and the
// not-executable rule. Like check-package, it skips external.mk when
// external.desc sits beside it.

type brFile struct {
	name  string   // as reported, relative to the repository
	path  string   // to read it
	lines []string // without "\n"
	raw   string
	exec  bool
}

func brStyle(f brFile) []string {
	var w []string
	warn := func(line int, format string, args ...any) {
		w = append(w, fmt.Sprintf("%s:%d: %s", f.name, line, fmt.Sprintf(format, args...)))
	}
	base := filepath.Base(f.name)
	kind := ""
	switch {
	case base == "external.mk", base == "external.desc":
		return nil
	case strings.HasPrefix(base, "Config."):
		kind = "config"
	case strings.HasSuffix(base, "_defconfig") && strings.Contains(f.name, "configs/"):
		kind = "defconfig"
	case strings.HasSuffix(base, ".mk"):
		kind = "mk"
	case regexp.MustCompile(`^S\d\d`).MatchString(base):
		kind = "sysv"
	default:
		return nil
	}

	if kind != "defconfig" {
		// lib.py
		if f.raw != "" && !strings.HasSuffix(f.raw, "\n") {
			warn(len(f.lines), "missing newline at end of file")
		}
		if len(f.lines) > 0 && strings.TrimSpace(f.lines[len(f.lines)-1]) == "" {
			warn(len(f.lines), "remove empty line at the end of file")
		}
		for i, l := range f.lines {
			if strings.TrimRight(l, " \t") != l {
				warn(i+1, "line contains trailing whitespace")
			}
			if i > 0 && l == "" && f.lines[i-1] == "" {
				warn(i+1, "consecutive empty lines")
			}
			if kind == "mk" && !utf8.ValidString(l) {
				warn(i+1, "invalid UTF-8")
			}
		}
		if f.exec && kind != "" {
			warn(0, "This file does not need to be executable")
		}
	}

	switch kind {
	case "mk":
		w = append(w, brMk(f)...)
	case "config":
		w = append(w, brConfig(f)...)
	case "sysv":
		w = append(w, brSysv(f)...)
	case "defconfig":
		found := false
		for _, l := range f.lines {
			if l == "BR2_DOWNLOAD_FORCE_CHECK_HASHES=y" {
				found = true
			}
		}
		if !found {
			warn(0, "missing BR2_DOWNLOAD_FORCE_CHECK_HASHES")
		}
	}
	return w
}

func brMk(f brFile) []string {
	var w []string
	warn := func(line int, format string, args ...any) {
		w = append(w, fmt.Sprintf("%s:%d: %s", f.name, line, fmt.Sprintf(format, args...)))
	}
	hashes := strings.Repeat("#", 80)
	pkg := strings.ToUpper(strings.ReplaceAll(strings.TrimSuffix(filepath.Base(f.name), ".mk"), "-", "_"))
	var (
		conditional      = regexp.MustCompile(`^\s*(ifdef|ifeq|ifndef|ifneq|elif|else|endif)\s`)
		startCond        = regexp.MustCompile(`^\s*(ifdef|ifeq|ifndef|ifneq)`)
		endCond          = regexp.MustCompile(`^\s*endif`)
		endsBackslash    = regexp.MustCompile(`^[^#].*\\$`)
		makeTarget       = regexp.MustCompile(`^[^# \t]+:\s`)
		startDefine      = regexp.MustCompile(`^\s*define\s`)
		endDefine        = regexp.MustCompile(`^\s*endef\s`)
		comment          = regexp.MustCompile(`^\s*#`)
		spaceBackslash   = regexp.MustCompile(`^.*(  |\t ?)\\$`)
		variable         = regexp.MustCompile(`^(define\s+)?([A-Z0-9_]+_[A-Z0-9_]+)`)
		pkgVariable      = regexp.MustCompile(`(HOST_|ROOTFS_)?(` + pkg + `_[A-Z0-9_]+)`)
		assignment       = regexp.MustCompile(`^([A-Z0-9_]+)\s*((\+|:|)=)`)
		uselessDefault   = regexp.MustCompile(`_(INSTALL_IMAGES\s*=\s*NO|INSTALL_REDISTRIBUTE\s*=\s*YES|INSTALL_STAGING\s*=\s*NO|INSTALL_TARGET\s*=\s*YES|AUTORECONF\s*=\s*NO|LIBTOOL_PATCH\s*=\s*YES)`)
		withBraces       = regexp.MustCompile(`^[^#].*[^$]\$\{\w+\}`)
		inDefine, inCont bool
		inTarget         bool
		depth            int
		setAt            = map[string]bool{}
	)
	for i, l := range f.lines {
		n := i + 1
		text := l + "\n"
		// PackageHeader
		switch {
		case n == 1 || n == 5:
			if l != hashes {
				warn(n, "should be 80 hashes")
			}
		case n == 2 || n == 4:
			if l != "#" {
				warn(n, "should be 1 hash")
			}
		case n == 6:
			if l != "" {
				warn(n, "should be a blank line")
			}
		}
		// SpaceBeforeBackslash, TrailingBackslash
		if spaceBackslash.MatchString(strings.TrimRight(l, " \t")) {
			warn(n, "use only one space before backslash")
		}
		if n > 1 && endsBackslash.MatchString(f.lines[i-1]) && strings.TrimSpace(l) == "" {
			warn(n-1, "remove trailing backslash")
		}
		// VariableWithBraces
		if withBraces.MatchString(l) {
			warn(n, "use $() to delimit variables, not ${}")
		}
		// TypoInPackageVariable
		if m := variable.FindStringSubmatch(l); m != nil && !pkgVariable.MatchString(l) {
			warn(n, "possible typo: %s -> *%s*", m[2], pkg)
		}
		// UselessFlag (outside conditionals), OverriddenVariable (simplified)
		switch {
		case startCond.MatchString(l):
			depth++
		case endCond.MatchString(l):
			depth--
		default:
			if depth == 0 && uselessDefault.MatchString(l) {
				warn(n, "useless default value")
			}
			if m := assignment.FindStringSubmatch(l); m != nil && depth == 0 && !inDefine && !inCont {
				if setAt[m[1]] && (m[2] == "=" || m[2] == ":=") {
					warn(n, "unconditional override of variable %s", m[1])
				}
				setAt[m[1]] = true
			}
		}
		// Indent
		if startDefine.MatchString(text) {
			inDefine = true
			continue
		}
		if endDefine.MatchString(text) {
			inDefine = false
			continue
		}
		expectTabs := inDefine || inCont || inTarget
		if !inCont && conditional.MatchString(text) {
			expectTabs = false
		}
		inCont = endsBackslash.MatchString(l)
		if makeTarget.MatchString(text) {
			inTarget = true
			continue
		}
		if strings.TrimSpace(l) == "" {
			inTarget = false
			continue
		}
		if inDefine && comment.MatchString(l) {
			continue
		}
		if expectTabs && !strings.HasPrefix(l, "\t") {
			warn(n, "expected indent with tabs")
		}
		if !expectTabs && strings.HasPrefix(l, "\t") {
			warn(n, "unexpected indent with tabs")
		}
	}
	return w
}

func brConfig(f brFile) []string {
	var w []string
	warn := func(line int, format string, args ...any) {
		w = append(w, fmt.Sprintf("%s:%d: %s", f.name, line, fmt.Sprintf(format, args...)))
	}
	notIndented := map[string]bool{"choice": true, "comment": true, "config": true, "endchoice": true, "endif": true,
		"endmenu": true, "if": true, "menu": true, "menuconfig": true, "source": true}
	indented := map[string]bool{"bool": true, "default": true, "depends": true, "help": true, "prompt": true, "select": true, "string": true}
	order := map[string]int{"bool": 1, "prompt": 1, "string": 1, "default": 2, "depends": 3, "select": 4, "help": 5}
	helpFirst := regexp.MustCompile(`^\t  \S.{0,61}$`)
	helpLine := regexp.MustCompile(`^\t  .{0,62}$`)
	urlOnly := regexp.MustCompile(`^(http|https|git)://\S*$`)
	state, inHelp, helpFirstLine, cont := 0, false, false, false
	for i, l := range f.lines {
		n := i + 1
		trim := strings.TrimSpace(l)
		if trim == "" || strings.HasPrefix(trim, "#") {
			continue
		}
		if inHelp && strings.HasPrefix(l, "\t  ") {
			re := helpLine
			if helpFirstLine {
				re, helpFirstLine = helpFirst, false
			}
			if !re.MatchString(l) && !urlOnly.MatchString(trim) {
				warn(n, "help text: <tab><2 spaces><62 chars>")
			}
			continue
		}
		entry := strings.Fields(l)[0]
		if cont {
			if !strings.HasPrefix(l, "\t") {
				warn(n, "continuation line should be indented using tabs")
			}
		} else if indented[entry] && !strings.HasPrefix(l, "\t"+entry) {
			warn(n, "should be indented with one tab")
		} else if notIndented[entry] && !strings.HasPrefix(l, entry) {
			warn(n, "should not be indented")
		}
		cont = strings.HasSuffix(l, "\\")
		if notIndented[entry] {
			state, inHelp = 0, false
		} else if o, ok := order[entry]; ok {
			if state > o {
				warn(n, "attributes order: type, default, depends on, select, help")
			}
			state = o
		}
		if trim == "help" {
			inHelp, helpFirstLine = true, true
		} else if inHelp {
			warn(n, "help text: <tab><2 spaces><62 chars>")
		}
		if l == "\tdefault n" {
			warn(n, "boolean symbols default to 'n', so 'default n' is redundant")
		}
	}
	return w
}

func brSysv(f brFile) []string {
	var w []string
	warn := func(line int, format string, args ...any) {
		w = append(w, fmt.Sprintf("%s:%d: %s", f.name, line, fmt.Sprintf(format, args...)))
	}
	spaces := regexp.MustCompile(`^[\t]* `)
	daemonVar := regexp.MustCompile(`^DAEMON=["']?([^"']*)["']?`)
	pidVar := regexp.MustCompile(`^PIDFILE=["']?([^"']*)["']?`)
	pidPattern := regexp.MustCompile(`^/var/run/(\$DAEMON|\$\{DAEMON\}).pid`)
	daemon := ""
	for i, l := range f.lines {
		n := i + 1
		if spaces.MatchString(strings.TrimRight(l, " \t")) {
			warn(n, "should be indented with tabs")
		}
		if m := daemonVar.FindStringSubmatch(l); m != nil {
			if daemon != "" {
				warn(n, "DAEMON variable redefined")
			}
			daemon = m[1]
			if strings.Contains(daemon, "/") {
				warn(n, "Do not include path in DAEMON")
				daemon = filepath.Base(daemon)
			}
		}
		if m := pidVar.FindStringSubmatch(l); m != nil && !pidPattern.MatchString(m[1]) {
			warn(n, "Incorrect PIDFILE value")
		}
	}
	if daemon == "" {
		warn(0, "DAEMON variable not defined")
	} else if !regexp.MustCompile(`^S\d\d` + regexp.QuoteMeta(daemon) + `$`).MatchString(filepath.Base(f.name)) {
		warn(0, "filename should be S<number><number><daemon name>")
	}
	if out, err := exec.Command("shellcheck", f.path).CombinedOutput(); err != nil {
		warn(0, "run 'shellcheck' and fix the warnings: %v\n%s", err, out)
	}
	return w
}

func readBrFile(t *testing.T, path, name string) brFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	raw := string(b)
	lines := strings.Split(strings.TrimSuffix(raw, "\n"), "\n")
	if raw == "" {
		lines = nil
	}
	return brFile{name: name, path: path, lines: lines, raw: raw, exec: st.Mode()&0o111 != 0}
}

// TestBuildrootTree checks the BR2_EXTERNAL tree's layout and runs the
// style rules on every file.
func TestBuildrootTree(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Fatal("shellcheck not found: install it (scripts/test-deps.sh does); check-package runs it on init scripts")
	}
	root := "../buildroot"
	for _, p := range []string{"external.desc", "external.mk", "Config.in", "package/hearth/Config.in",
		"package/hearth/hearth.mk", "package/hearth/S99hearth", "package/hearth/hearth.conf",
		"configs/hearth_qemu_arm_vexpress_defconfig", "README.md"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("buildroot/%s: %v", p, err)
		}
	}
	desc, err := os.ReadFile(filepath.Join(root, "external.desc"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^name: HEARTH$`).Match(desc) {
		t.Errorf("external.desc = %q, want a line \"name: HEARTH\" (the .mk uses BR2_EXTERNAL_HEARTH_PATH)", desc)
	}
	mk, err := os.ReadFile(filepath.Join(root, "package/hearth/hearth.mk"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"HEARTH_VERSION = ", "HEARTH_SITE = ", "HEARTH_BUILD_TARGETS = cmd/hearth",
		"HEARTH_LDFLAGS = ", "HEARTH_TAGS = ", "HEARTH_GOMOD = github.com/hearth-media/hearth", "define HEARTH_USERS",
		"define HEARTH_INSTALL_INIT_SYSV", "$(eval $(golang-package))"} {
		if !strings.Contains(string(mk), want) {
			t.Errorf("hearth.mk lacks %q", want)
		}
	}
	var files int
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name, _ := filepath.Rel("..", path)
		files++
		for _, w := range brStyle(readBrFile(t, path, name)) {
			t.Error(w)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 9 {
		t.Fatalf("walked %d files under buildroot/, want at least 9", files)
	}
}

// TestBrStyleCatchesMistakes feeds the checker files with one mistake
// each: it must flag every one.
func TestBrStyleCatchesMistakes(t *testing.T) {
	header := "################################################################################\n#\n# foo\n#\n################################################################################\n\n"
	tests := []struct {
		name, file, text, want string
	}{
		{"header", "package/foo/foo.mk", "# foo\nFOO_VERSION = 1\n", "should be 80 hashes"},
		{"typo", "package/foo/foo.mk", header + "FOO_VERSION = 1\nBAR_SITE = x\n", "possible typo: BAR_SITE"},
		{"tabs", "package/foo/foo.mk", header + "define FOO_X\n  true\nendef\n", "expected indent with tabs"},
		{"override", "package/foo/foo.mk", header + "FOO_VERSION = 1\nFOO_VERSION = 2\n", "unconditional override"},
		{"useless", "package/foo/foo.mk", header + "FOO_INSTALL_TARGET = YES\n", "useless default value"},
		{"braces", "package/foo/foo.mk", header + "FOO_X = ${FOO_Y}\n", "use $() to delimit"},
		{"backslash", "package/foo/foo.mk", header + "FOO_X = a  \\\n\tb\n", "one space before backslash"},
		{"trailing space", "package/foo/foo.mk", header + "FOO_X = a \n", "trailing whitespace"},
		{"empty lines", "package/foo/foo.mk", header + "FOO_X = a\n\n\nFOO_Y = b\n", "consecutive empty lines"},
		{"no newline", "package/foo/foo.mk", header + "FOO_X = a", "missing newline"},
		{"config indent", "package/foo/Config.in", "config BR2_PACKAGE_FOO\n  bool \"foo\"\n", "indented with one tab"},
		{"help width", "package/foo/Config.in", "config BR2_PACKAGE_FOO\n\tbool \"foo\"\n\thelp\n\t  " + strings.Repeat("x", 70) + "\n", "help text"},
		{"order", "package/foo/Config.in", "config BR2_PACKAGE_FOO\n\tbool \"foo\"\n\tdepends on BR2_X\n\tdefault y\n", "attributes order"},
		{"default n", "package/foo/Config.in", "config BR2_PACKAGE_FOO\n\tbool \"foo\"\n\tdefault n\n", "redundant"},
		{"sysv spaces", "package/foo/S50foo", "#!/bin/sh\nDAEMON=\"foo\"\nPIDFILE=\"/var/run/$DAEMON.pid\"\nf() {\n    true\n}\n", "indented with tabs"},
		{"sysv daemon path", "package/foo/S50foo", "#!/bin/sh\nDAEMON=\"/usr/bin/foo\"\nPIDFILE=\"/var/run/$DAEMON.pid\"\n", "Do not include path"},
		{"sysv pidfile", "package/foo/S50foo", "#!/bin/sh\nDAEMON=\"foo\"\nPIDFILE=\"/run/foo.pid\"\n", "Incorrect PIDFILE"},
		{"sysv name", "package/foo/S50bar", "#!/bin/sh\nDAEMON=\"foo\"\nPIDFILE=\"/var/run/$DAEMON.pid\"\n", "filename should be"},
		{"defconfig hashes", "configs/foo_defconfig", "BR2_arm=y\n", "BR2_DOWNLOAD_FORCE_CHECK_HASHES"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), filepath.Base(tt.file))
			if err := os.WriteFile(path, []byte(tt.text), 0o644); err != nil {
				t.Fatal(err)
			}
			got := strings.Join(brStyle(readBrFile(t, path, tt.file)), "\n")
			if !strings.Contains(got, tt.want) {
				t.Errorf("brStyle(%s) = %q, want a warning containing %q", tt.name, got, tt.want)
			}
		})
	}
	t.Run("executable", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "foo.mk")
		if err := os.WriteFile(path, []byte("################################################################################\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		got := strings.Join(brStyle(readBrFile(t, path, "package/foo/foo.mk")), "\n")
		if !strings.Contains(got, "does not need to be executable") {
			t.Errorf("brStyle(executable .mk) = %q, want the not-executable warning", got)
		}
	})
}
