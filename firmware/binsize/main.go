// Command binsize says what makes a Go binary big: the bytes of each
// package and module in the file, from an ELF binary built with its symbol
// table (no -s -w). Used by scripts/size.sh (make size).
//
//	go run ./firmware/binsize [-top N] [-stripped BYTES] BINARY
//
// Code (.text) and named data are counted exactly per symbol. The tables
// the Go linker shares between packages — .gopclntab (function and line
// tables), go:func.* (funcdata) and the unnamed part of .rodata (type
// descriptors and string literals) — have no per-package symbols; they are
// spread over packages in proportion to each one's code, which is an
// estimate and is marked as one. BSS takes no room in the file and is left
// out.
package main

import (
	"bufio"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

func main() {
	top := flag.Int("top", 30, "list the `N` biggest packages")
	stripped := flag.Int64("stripped", 0, "size in `BYTES` of the same build stripped (-s -w), printed for reference")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: binsize [-top N] [-stripped BYTES] BINARY")
		os.Exit(2)
	}
	if err := run(os.Stdout, flag.Arg(0), *top, *stripped); err != nil {
		fmt.Fprintf(os.Stderr, "binsize: %v\n", err)
		os.Exit(1)
	}
}

// sizes is the attribution of one package or module, in bytes.
type sizes struct {
	name   string
	code   int64 // .text symbols, exact
	data   int64 // named .rodata/.data/.noptrdata symbols, exact
	shared int64 // its share of the tables without per-package symbols, estimated
}

func (s sizes) total() int64 { return s.code + s.data + s.shared }

func run(w io.Writer, path string, top int, stripped int64) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		if errors.Is(err, elf.ErrNoSymbols) {
			return fmt.Errorf("%s has no symbol table: build it without -ldflags -s -w", path)
		}
		return fmt.Errorf("read symbols of %s: %w", path, err)
	}
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read build info of %s: %w", path, err)
	}
	var modules []string
	for _, d := range bi.Deps {
		p := d.Path
		if d.Replace != nil && d.Replace.Path != "" && !strings.HasPrefix(d.Replace.Path, ".") {
			p = d.Replace.Path
		}
		modules = append(modules, p)
	}
	modules = append(modules, bi.Main.Path)

	secName := func(i elf.SectionIndex) string {
		if int(i) <= 0 || int(i) >= len(f.Sections) {
			return ""
		}
		return f.Sections[i].Name
	}
	var fileBytes, sharedBytes, codeTotal int64
	for _, s := range f.Sections {
		if s.Type == elf.SHT_NOBITS || s.Flags&elf.SHF_ALLOC == 0 {
			continue
		}
		fileBytes += int64(s.Size)
		switch s.Name {
		case ".gopclntab", ".rodata", ".typelink", ".itablink":
			sharedBytes += int64(s.Size) // named symbols inside are subtracted below
		}
	}
	pkgs := map[string]*sizes{}
	get := func(name string) *sizes {
		p := pkgs[name]
		if p == nil {
			p = &sizes{name: name}
			pkgs[name] = p
		}
		return p
	}
	for _, s := range syms {
		if s.Size == 0 {
			continue
		}
		sec := secName(s.Section)
		switch sec {
		case ".text":
			get(pkgOf(s.Name)).code += int64(s.Size)
			codeTotal += int64(s.Size)
		case ".rodata", ".data", ".noptrdata":
			if shared(s.Name) {
				continue // stays in the shared pool
			}
			get(pkgOf(s.Name)).data += int64(s.Size)
			if sec == ".rodata" {
				sharedBytes -= int64(s.Size)
			}
		}
	}
	if codeTotal == 0 {
		return fmt.Errorf("%s: no code symbols found", path)
	}
	var list []*sizes
	for _, p := range pkgs {
		p.shared = sharedBytes * p.code / codeTotal
		list = append(list, p)
	}
	byTotal := func(l []*sizes) {
		sort.Slice(l, func(i, j int) bool {
			if l[i].total() != l[j].total() {
				return l[i].total() > l[j].total()
			}
			return l[i].name < l[j].name
		})
	}
	byTotal(list)

	mods := map[string]*sizes{}
	for _, p := range list {
		m := moduleOf(p.name, modules)
		ms := mods[m]
		if ms == nil {
			ms = &sizes{name: m}
			mods[m] = ms
		}
		ms.code += p.code
		ms.data += p.data
		ms.shared += p.shared
	}
	var modList []*sizes
	fams := map[string]*sizes{}
	for _, m := range mods {
		modList = append(modList, m)
		name := familyOf(m.name)
		fs := fams[name]
		if fs == nil {
			fs = &sizes{name: name}
			fams[name] = fs
		}
		fs.code += m.code
		fs.data += m.data
		fs.shared += m.shared
	}
	byTotal(modList)
	var famList []*sizes
	for _, f := range fams {
		famList = append(famList, f)
	}
	byTotal(famList)

	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "binary: %s (%s/%s, %s)\n", path, setting(bi, "GOOS"), setting(bi, "GOARCH"), bi.GoVersion)
	fmt.Fprintf(bw, "loaded sections in the file: %s", mib(fileBytes))
	if stripped > 0 {
		fmt.Fprintf(bw, "; stripped build: %s", mib(stripped))
	}
	fmt.Fprintf(bw, "\ncode (.text, exact per symbol): %s; shared tables spread by code share (estimate): %s\n\n", mib(codeTotal), mib(sharedBytes))
	writeTable(bw, "by origin (standard library, module owner)", famList, 15, fileBytes)
	fmt.Fprintln(bw)
	writeTable(bw, "by module (std split by top-level package)", modList, 40, fileBytes)
	fmt.Fprintln(bw)
	writeTable(bw, fmt.Sprintf("top %d packages", top), list, top, fileBytes)
	return bw.Flush()
}

func writeTable(w io.Writer, title string, l []*sizes, n int, fileBytes int64) {
	fmt.Fprintf(w, "%s:\n", title)
	fmt.Fprintf(w, "%10s %10s %10s %10s %6s  %s\n", "total", "code", "data", "tables~", "share", "name")
	var rest sizes
	for i, s := range l {
		if i >= n {
			rest.code += s.code
			rest.data += s.data
			rest.shared += s.shared
			continue
		}
		fmt.Fprintf(w, "%10s %10s %10s %10s %5.1f%%  %s\n", kib(s.total()), kib(s.code), kib(s.data), kib(s.shared),
			100*float64(s.total())/float64(fileBytes), s.name)
	}
	if len(l) > n {
		fmt.Fprintf(w, "%10s %10s %10s %10s %5.1f%%  (%d others)\n", kib(rest.total()), kib(rest.code), kib(rest.data), kib(rest.shared),
			100*float64(rest.total())/float64(fileBytes), len(l)-n)
	}
}

func kib(n int64) string { return fmt.Sprintf("%.0fK", float64(n)/1024) }
func mib(n int64) string { return fmt.Sprintf("%.2f MiB (%d bytes)", float64(n)/(1<<20), n) }

func setting(bi *buildinfo.BuildInfo, key string) string {
	for _, s := range bi.Settings {
		if s.Key == key {
			return s.Value
		}
	}
	return "?"
}

// shared reports whether a named symbol is one of the linker's tables that
// serve every package.
func shared(name string) bool {
	return strings.HasPrefix(name, "go:") || strings.HasPrefix(name, "runtime.pclntab") ||
		strings.HasPrefix(name, "runtime.findfunctab") || strings.HasPrefix(name, "runtime.typelink") ||
		strings.HasPrefix(name, "runtime.itablink") || strings.HasPrefix(name, "runtime.gcdata") ||
		strings.HasPrefix(name, "runtime.gcbss") || strings.HasPrefix(name, "runtime.rodata") ||
		strings.HasPrefix(name, "runtime.types") || strings.HasPrefix(name, "runtime.etypes")
}

// pkgOf returns the import path of the package a symbol belongs to:
// "github.com/a/b.(*T).M" → "github.com/a/b", "type:.eq.net/url.URL" →
// "net/url". A dot in the last path element (gopkg.in/yaml.v3) is read as
// the end of the path, as go tool nm users must too; no module of this
// build has one.
func pkgOf(name string) string {
	name = strings.TrimPrefix(name, "type:.eq.")
	name = strings.TrimPrefix(name, "type:.hash.")
	name = strings.TrimLeft(name, "*[]0123456789")
	for _, p := range []string{"go.shape.", "go:", "struct {", "interface {", "type:"} {
		if strings.HasPrefix(name, p) {
			return "(generic shapes, anonymous types)"
		}
	}
	if !strings.ContainsAny(name, "./") {
		return "runtime" // assembly helpers and constants: gogo, setg, $f64…
	}
	if i := strings.IndexAny(name, "[("); i >= 0 {
		name = name[:i] // generic instantiations, method receivers
	}
	slash := strings.LastIndex(name, "/")
	if i := strings.Index(name[slash+1:], "."); i >= 0 {
		name = name[:slash+1+i]
	}
	if name == "" {
		return "(unnamed)"
	}
	return name
}

// moduleOf maps a package to its module (longest prefix among the build's
// modules); standard library packages are grouped by their top element
// ("crypto/tls" → "std: crypto"), vendored ones under "std: vendor".
func moduleOf(pkg string, modules []string) string {
	if pkg == "main" {
		return modules[len(modules)-1] // the main module is listed last
	}
	best := ""
	for _, m := range modules {
		if (pkg == m || strings.HasPrefix(pkg, m+"/")) && len(m) > len(best) {
			best = m
		}
	}
	if best != "" {
		return best
	}
	first, _, _ := strings.Cut(pkg, "/")
	if strings.Contains(first, ".") {
		return pkg // a module the build info does not list
	}
	return "std: " + first
}

// familyOf groups modules by who publishes them: "std", "github.com/pion",
// "golang.org/x", the main module…
func familyOf(module string) string {
	if strings.HasPrefix(module, "std: ") {
		return "std (Go standard library)"
	}
	parts := strings.Split(module, "/")
	if parts[0] == "github.com" && len(parts) >= 2 {
		return "github.com/" + parts[1]
	}
	if parts[0] == "golang.org" && len(parts) >= 2 {
		return "golang.org/x"
	}
	return parts[0]
}
