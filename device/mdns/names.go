package mdns

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits from DNS (RFC 1035) and DNS-SD (RFC 6763).
const (
	maxLabel    = 63  // bytes in one DNS label: an instance name is one label
	maxTXTEntry = 255 // bytes in one TXT string ("key=value")
	maxTXTTotal = 1300
)

// DefaultName is the friendly name a device uses when none is configured:
// the model and the host name, e.g. "Hearth NAS on kitchen". Either may be
// empty. The result fits one DNS label with room for a " (99)" suffix.
func DefaultName(model, hostname string) string {
	model = strings.TrimSpace(model)
	if model == "" {
		model = "Hearth"
	}
	// A host name like "kitchen.lan" or "kitchen.local" shows as "kitchen".
	host, _, _ := strings.Cut(strings.TrimSpace(hostname), ".")
	name := model
	if host != "" && host != "localhost" && !strings.EqualFold(host, model) {
		name = model + " on " + host
	}
	return truncateName(name, maxLabel-len(" (99)"))
}

// truncateName cuts s to at most n bytes without splitting a character.
func truncateName(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.TrimSpace(s[:n])
}

// candidateName is the name tried after n conflicts: "base", "base (2)",
// "base (3)"…, cut so the whole fits one DNS label.
func candidateName(base string, n int) string {
	if n <= 1 {
		return truncateName(base, maxLabel)
	}
	suffix := " (" + strconv.Itoa(n) + ")"
	return truncateName(base, maxLabel-len(suffix)) + suffix
}

// checkName reports whether s can be an instance name: one DNS label of
// UTF-8 text without control characters.
func checkName(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("%w: empty name", ErrConfig)
	case len(s) > maxLabel:
		return fmt.Errorf("%w: name %q is %d bytes, at most %d", ErrConfig, s, len(s), maxLabel)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: name %q is not UTF-8", ErrConfig, s)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: name %q has a control character", ErrConfig, s)
		}
	}
	return nil
}

// hostLabel is the host name a device answers for, derived from its id so
// that it never clashes with the box's own name (which avahi may own) or
// with another Hearth device: "hearth-" and up to 12 id characters.
func hostLabel(id string) string {
	var b strings.Builder
	b.WriteString("hearth-")
	n := 0
	for _, r := range strings.ToLower(id) {
		if n == 12 {
			break
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			n++
		}
	}
	return b.String()
}

// escapeLabel writes a raw label (an instance name) in the presentation
// format that github.com/miekg/dns v1.1.27 produces when it unpacks one, so
// that zeroconf, which compares names as strings, matches the questions it
// receives, and so that a "." in a name stays inside its label.
func escapeLabel(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.' || c == '(' || c == ')' || c == ';' || c == ' ' || c == '@' || c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// escapeTXT writes a raw TXT string the way miekg/dns unpacks one (it
// parses the same escapes when packing).
func escapeTXT(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// unescape undoes miekg/dns's presentation escapes (\X and \DDD) in a label
// or TXT string.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b = append(b, s[i])
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			if v, err := strconv.Atoi(s[i+1 : i+4]); err == nil && v < 256 {
				b = append(b, byte(v))
				i += 3
				continue
			}
		}
		b = append(b, s[i+1])
		i++
	}
	return string(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// firstLabel splits a presentation-format name into its first label (still
// escaped) and the rest, honouring escaped dots.
func firstLabel(name string) (label, rest string) {
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '\\':
			i++
		case '.':
			return name[:i], name[i+1:]
		}
	}
	return name, ""
}
