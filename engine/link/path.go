package link

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Path limits, those of Linux file systems (NAME_MAX, PATH_MAX).
const (
	MaxComponentLen = 255  // bytes in one file or folder name
	MaxPathLen      = 4096 // bytes in a whole path, components joined by "/"
)

// SafePath checks a file path given as components, relative to the download
// directory: it must stay inside that directory and be storable on a Linux
// file system. Each component must be non-empty, not "." or "..", contain no
// "/" or "\" (so no absolute paths or Windows drive paths like `C:\`), no NUL
// or other control character, be valid UTF-8 and at most MaxComponentLen
// bytes; the joined path is at most MaxPathLen bytes. Names that only Windows
// forbids (CON, "a:b", trailing dots) are allowed: Hearth stores on Linux.
// The error names the offending path.
func SafePath(components []string) error {
	if len(components) == 0 {
		return inputErr(ErrUnsafePath, "unsafe file path: the path is empty")
	}
	total := len(components) - 1
	for _, c := range components {
		total += len(c)
	}
	if total > MaxPathLen {
		return pathErr(components, "longer than %d bytes", MaxPathLen)
	}
	for _, c := range components {
		if why := badComponent(c, true); why != "" {
			return pathErr(components, "%s", why)
		}
	}
	return nil
}

// safeBytesPath is SafePath without the UTF-8 and length rules, for the
// legacy byte paths (BEP 3 "path" and "name" in a local code page) that
// anacrolix does not use when a ".utf-8" variant exists: they must still not
// escape the download directory, whatever other software reads them.
func safeBytesPath(components []string) error {
	if len(components) == 0 {
		return inputErr(ErrUnsafePath, "unsafe file path: the path is empty")
	}
	for _, c := range components {
		if why := badComponent(c, false); why != "" {
			return pathErr(components, "%s", why)
		}
	}
	return nil
}

// badComponent says what is wrong with one path component, or "".
func badComponent(c string, strict bool) string {
	switch {
	case c == "":
		return "it has an empty component"
	case c == "." || c == "..":
		return "component " + quote(c) + " is not allowed"
	case strings.ContainsAny(c, `/\`):
		return "component " + quote(clip(c)) + " contains a slash"
	}
	if strict {
		if !utf8.ValidString(c) {
			return "component " + quote(clip(c)) + " is not valid UTF-8"
		}
		if len(c) > MaxComponentLen {
			return "component " + quote(clip(c)) + " is longer than 255 bytes"
		}
	}
	for _, r := range c {
		if r < 0x20 || r == 0x7f || (strict && r >= 0x80 && r < 0xa0) {
			return "component " + quote(clip(c)) + " contains a control character"
		}
	}
	return ""
}

func pathErr(components []string, format string, args ...any) *Error {
	p := clip(strings.Join(components, "/"))
	return inputErr(ErrUnsafePath, "unsafe file path %s: "+format, append([]any{quote(p)}, args...)...)
}

// quote escapes control characters and invalid UTF-8, so a quoted name never
// breaks a one-line message.
func quote(s string) string { return strconv.Quote(s) }
