package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/mail"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// is32bit is true on the CPUs where Badger loses data (FIELD-NOTES).
const is32bit = strconv.IntSize == 32

// Validate checks ranges, enumerations, addresses and paths. It reports
// every problem, each a *KeyError naming its key, joined with errors.Join.
func (c *Config) Validate() error {
	errs := make([]error, 0)
	for _, ke := range c.problems(is32bit) {
		errs = append(errs, ke)
	}
	return errors.Join(errs...)
}

// problems returns what is wrong with c, in key order. is32 says whether
// the build runs on a 32-bit CPU (a parameter so tests cover both).
func (c *Config) problems(is32 bool) []*KeyError {
	var out []*KeyError
	for _, f := range table().fields {
		v := c.value(f)
		var msg string
		switch f.kind {
		case kindString:
			msg = checkText(v.String())
		case kindList:
			for _, s := range v.Interface().([]string) {
				if msg = checkText(s); msg != "" {
					break
				}
			}
		}
		if msg == "" {
			if r := rules[f.key]; r != nil {
				msg = r(c, v)
			}
		}
		if msg != "" {
			out = append(out, &KeyError{Key: f.key, Reason: msg})
		}
	}
	if is32 && c.Store.Backend == "badger" {
		out = append(out, badValue("store.backend", "badger loses data on 32-bit CPUs; use bbolt or auto"))
	}
	return out
}

// checkText rejects what no path, address or name may hold.
func checkText(s string) string {
	if !utf8.ValidString(s) {
		return fmt.Sprintf("%q is not valid UTF-8", s)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Sprintf("%q contains a NUL byte", s)
	}
	return ""
}

// A rule checks one key's value; "" means fine. Every key has one (a test
// checks), so that a new field gets a thought about its valid range.
type rule func(c *Config, v reflect.Value) string

var rules = map[string]rule{
	"version":  func(c *Config, v reflect.Value) string { return versionRule(v.Int()) },
	"profile":  oneOf(Profiles()...),
	"data_dir": path(false),
	"listen":   hostPort(true),

	"log.level":  oneOf("debug", "info", "warn", "error"),
	"log.format": oneOf("text", "json"),

	"torrent.peer_port":             intRange(0, 65535),
	"torrent.download_dir":          path(true),
	"torrent.dht":                   anyValue,
	"torrent.dht_bootstrap":         each(hostPort(false)),
	"torrent.port_forwarding":       anyValue,
	"torrent.encryption":            oneOf("prefer", "require", "tolerate"),
	"torrent.utp":                   anyValue,
	"torrent.ipv6":                  anyValue,
	"torrent.conns_per_torrent":     intRange(1, math.MaxInt),
	"torrent.half_open_per_torrent": intRange(1, math.MaxInt),
	"torrent.half_open_total":       intRange(1, math.MaxInt),
	"torrent.peers_high_water":      intRange(1, math.MaxInt),
	"torrent.peers_low_water":       lowWater,
	// A request is one 16 KiB block: less than that serves no peer at all.
	"torrent.request_buffer_kib": intRange(16, math.MaxInt),
	"torrent.unverified_mib":     intRange(1, math.MaxInt),
	"torrent.hashers":            intRange(1, 64),
	"torrent.read_ahead_kib":     intRange(0, math.MaxInt),
	"torrent.incomplete_dir":     path(true),

	"limits.download_kbps":     intRange(0, math.MaxInt),
	"limits.upload_kbps":       intRange(0, math.MaxInt),
	"limits.alt_download_kbps": intRange(0, math.MaxInt),
	"limits.alt_upload_kbps":   intRange(0, math.MaxInt),
	"limits.alt_enabled":       anyValue,
	"limits.alt_scheduled":     anyValue,
	"limits.alt_begin":         clock,
	"limits.alt_end":           clock,
	"limits.alt_days":          days,

	"queue.max_downloads": intRange(0, math.MaxInt),
	"queue.max_seeds":     intRange(0, math.MaxInt),
	"queue.seed_ratio":    floatMin(0),
	"queue.seed_idle":     durationMin(0),

	"store.backend": oneOf("auto", "badger", "bbolt"),
	// Badger refuses a value log under 1 MiB and needs a memtable for its
	// value threshold (FIELD-NOTES: ≤ 15 % of the memtable).
	"store.memtable_mib":    intRange(1, 1024),
	"store.value_log_mib":   intRange(1, 2048),
	"store.block_cache_mib": intRange(0, math.MaxInt),

	"memory.limit_mib":  intRange(0, math.MaxInt),
	"memory.gc_percent": intRange(0, 1000),

	"access.trust_loopback": anyValue,
	"access.allowed_hosts":  each(hostName),
	"access.clients":        each(ipOrCIDR),
	"access.pairing":        anyValue,

	"channels.poll_interval": durationMin(time.Second),
	"channels.republish":     durationMin(time.Minute),
	"channels.dht_items":     intRange(0, math.MaxInt),
	"channels.lan":           anyValue,
	"channels.keep_removed":  anyValue,

	"device.name":       maxLen(63), // a DNS-SD instance name label is at most 63 bytes
	"device.model":      maxLen(63),
	"device.mdns":       anyValue,
	"device.interfaces": each(ifaceName),

	"gpio.button":                pinName("gpio.button"),
	"gpio.button_active_low":     anyValue,
	"gpio.led_status":            pinName("gpio.led_status"),
	"gpio.led_status_active_low": anyValue,
	"gpio.led_second":            pinName("gpio.led_second"),
	"gpio.led_second_active_low": anyValue,

	"share.smtp":               smtpServer,
	"share.smtp_from":          smtpFrom,
	"share.smtp_user":          smtpUser,
	"share.smtp_password_file": path(true),
	"share.smtp_tls":           oneOf("starttls", "tls"),
	"share.smtp_ca_file":       path(true),
	"share.outside":            anyValue,
	"share.outside_port":       intRange(1, 65535),
	"share.gateway":            gateway,
}

// gateway: empty, an IP address or IP:PORT.
func gateway(_ *Config, v reflect.Value) string {
	s := v.String()
	if s == "" || net.ParseIP(s) != nil {
		return ""
	}
	if host, _, err := net.SplitHostPort(s); err == nil && net.ParseIP(host) != nil {
		return checkHostPort(s, false)
	}
	return fmt.Sprintf("%q is not an IP address or IP:PORT", s)
}

// smtpServer: empty (no mail server) or HOST:PORT with a sender address.
func smtpServer(c *Config, v reflect.Value) string {
	s := v.String()
	if s == "" {
		return ""
	}
	if msg := checkHostPort(s, false); msg != "" {
		return msg
	}
	if c.Share.SMTPFrom == "" {
		return "needs share.smtp_from (the sender of share emails)"
	}
	return ""
}

// smtpFrom: empty or an address in net/mail syntax.
func smtpFrom(_ *Config, v reflect.Value) string {
	s := v.String()
	if s == "" {
		return ""
	}
	if _, err := mail.ParseAddress(s); err != nil {
		return fmt.Sprintf("%q is not an email address", s)
	}
	return ""
}

// smtpUser: a login needs its password, kept in a file.
func smtpUser(c *Config, v reflect.Value) string {
	s := v.String()
	if len(s) > 256 {
		return "is longer than 256 bytes"
	}
	if s != "" && c.Share.SMTPPasswordFile == "" {
		return "needs share.smtp_password_file (a file holding the password)"
	}
	return ""
}

// pinName checks the GPIO pin name of key: empty (none), or a name
// without spaces or control characters that no earlier gpio key uses.
// Whether the pin exists is known only on the device, when the daemon
// starts.
func pinName(key string) rule {
	return func(c *Config, v reflect.Value) string {
		s := v.String()
		if s == "" {
			return ""
		}
		if len(s) > 64 || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
			return fmt.Sprintf("%q is not a GPIO pin name (like GPIO17)", s)
		}
		for _, p := range []struct{ key, pin string }{
			{"gpio.button", c.GPIO.Button}, {"gpio.led_status", c.GPIO.LEDStatus}, {"gpio.led_second", c.GPIO.LEDSecond},
		} {
			if p.key == key {
				break
			}
			if p.pin == s {
				return fmt.Sprintf("%q is already used by %s", s, p.key)
			}
		}
		return ""
	}
}

func maxLen(n int) rule {
	return func(_ *Config, v reflect.Value) string {
		if s := v.String(); len(s) > n {
			return fmt.Sprintf("%q is longer than %d bytes", s, n)
		}
		return ""
	}
}

// ifaceName checks a Linux network interface name (IFNAMSIZ 16 with the NUL).
func ifaceName(_ *Config, v reflect.Value) string {
	s := v.String()
	if s == "" || len(s) > 15 || strings.ContainsAny(s, "/ \t:") {
		return fmt.Sprintf("%q is not a network interface name", s)
	}
	return ""
}

// clock checks a local time of day, HH:MM.
func clock(_ *Config, v reflect.Value) string {
	if _, err := ParseClock(v.String()); err != nil {
		return err.Error()
	}
	return ""
}

// ParseClock turns "HH:MM" into minutes after midnight.
func ParseClock(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, fmt.Errorf("%q is not a time of day HH:MM (00:00-23:59)", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// dayNames are in time.Weekday order.
var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func days(_ *Config, v reflect.Value) string {
	if _, err := ParseDays(v.String()); err != nil {
		return err.Error()
	}
	return ""
}

// ParseDays turns "all", "weekdays", "weekend" or a comma list of day names
// (sun, mon, …) into a bit mask, bit i for time.Weekday(i) — the mask
// Transmission calls alt-speed-time-day.
func ParseDays(s string) (int, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "all":
		return 0x7f, nil
	case "weekdays":
		return 0x3e, nil
	case "weekend":
		return 0x41, nil
	}
	mask := 0
	for d := range strings.SplitSeq(s, ",") {
		i := slices.Index(dayNames, strings.ToLower(strings.TrimSpace(d)))
		if i < 0 {
			return 0, fmt.Errorf("%q is not all, weekdays, weekend or a list of sun, mon, tue, wed, thu, fri, sat", s)
		}
		mask |= 1 << i
	}
	return mask, nil
}

// FormatDays is the inverse of ParseDays.
func FormatDays(mask int) string {
	switch mask & 0x7f {
	case 0x7f:
		return "all"
	case 0x3e:
		return "weekdays"
	case 0x41:
		return "weekend"
	}
	var names []string
	for i, n := range dayNames {
		if mask&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return strings.Join(names, ",")
}

func hostName(_ *Config, v reflect.Value) string {
	h := strings.TrimPrefix(v.String(), "*.")
	if !validHostname(h) {
		return fmt.Sprintf("%q is not a host name", v.String())
	}
	return ""
}

func ipOrCIDR(_ *Config, v reflect.Value) string {
	s := v.String()
	if net.ParseIP(s) != nil {
		return ""
	}
	if _, _, err := net.ParseCIDR(s); err == nil {
		return ""
	}
	return fmt.Sprintf("%q is not an IP address or CIDR like 192.168.1.0/24", s)
}

func anyValue(*Config, reflect.Value) string { return "" }

func versionRule(v int64) string {
	if v != CurrentVersion {
		return fmt.Sprintf("%d is not supported (this hearth writes version %d)", v, CurrentVersion)
	}
	return ""
}

func intRange(lo, hi int) rule {
	return func(_ *Config, v reflect.Value) string {
		n := int(v.Int())
		switch {
		case n >= lo && n <= hi:
			return ""
		case hi == math.MaxInt:
			return fmt.Sprintf("must be >= %d (got %d)", lo, n)
		}
		return fmt.Sprintf("%d out of range %d-%d", n, lo, hi)
	}
}

func floatMin(lo float64) rule {
	return func(_ *Config, v reflect.Value) string {
		if x := v.Float(); !(x >= lo) {
			return fmt.Sprintf("must be >= %g (got %g)", lo, x)
		}
		return ""
	}
}

func durationMin(lo time.Duration) rule {
	return func(_ *Config, v reflect.Value) string {
		if d := time.Duration(v.Int()); d < lo {
			return fmt.Sprintf("must be >= %s (got %s)", formatDuration(lo), formatDuration(d))
		}
		return ""
	}
}

func oneOf(values ...string) rule {
	return func(_ *Config, v reflect.Value) string {
		if s := v.String(); !slices.Contains(values, s) {
			return fmt.Sprintf("%q is not one of %s", s, strings.Join(values, ", "))
		}
		return ""
	}
}

func lowWater(c *Config, v reflect.Value) string {
	n := int(v.Int())
	if n < 0 {
		return fmt.Sprintf("must be >= 0 (got %d)", n)
	}
	if n > c.Torrent.PeersHighWater {
		return fmt.Sprintf("%d must not exceed torrent.peers_high_water (%d)", n, c.Torrent.PeersHighWater)
	}
	return ""
}

// path checks a directory setting. "~" is not expanded by anything between
// the file and the kernel, so a leading "~" would make a folder named "~".
func path(mayBeEmpty bool) rule {
	return func(_ *Config, v reflect.Value) string {
		s := v.String()
		switch {
		case s == "" && mayBeEmpty:
			return ""
		case strings.TrimSpace(s) == "":
			return "must not be empty"
		case s == "~" || strings.HasPrefix(s, "~/"):
			return fmt.Sprintf("%q: ~ is not expanded; write the full path", s)
		}
		return ""
	}
}

// hostPort checks HOST:PORT. For a listen address the host may be empty
// (every interface) and the port 0 (any free one, for tests); a remote
// node needs both.
func hostPort(listen bool) rule {
	return func(_ *Config, v reflect.Value) string {
		return checkHostPort(v.String(), listen)
	}
}

func checkHostPort(s string, listen bool) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		reason := err.Error()
		var ae *net.AddrError
		if errors.As(err, &ae) {
			reason = ae.Err
		}
		return fmt.Sprintf("%q is not HOST:PORT (%s)", s, reason)
	}
	p, err := strconv.Atoi(port)
	lo := 1
	if listen {
		lo = 0
	}
	if err != nil || p < lo || p > 65535 {
		return fmt.Sprintf("%q: port %q out of range %d-65535", s, port, lo)
	}
	if host == "" {
		if listen {
			return ""
		}
		return fmt.Sprintf("%q: missing host", s)
	}
	if net.ParseIP(host) != nil {
		return ""
	}
	if strings.Contains(host, "%") { // zone, as in fe80::1%eth0
		if ip, _, _ := strings.Cut(host, "%"); net.ParseIP(ip) != nil {
			return ""
		}
	}
	if !validHostname(host) {
		return fmt.Sprintf("%q: %q is not an IP address or host name", s, host)
	}
	return ""
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// each applies a rule to every item of a list.
func each(r func(c *Config, v reflect.Value) string) rule {
	return func(c *Config, v reflect.Value) string {
		for _, s := range v.Interface().([]string) {
			if msg := r(c, reflect.ValueOf(s)); msg != "" {
				return msg
			}
		}
		return ""
	}
}
