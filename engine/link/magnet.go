package link

import (
	"encoding/base32"
	"encoding/hex"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Magnet limits.
const (
	MaxMagnetLen = 8 << 10 // bytes in a magnet link
	MaxTrackers  = 100     // trackers kept from a magnet or .torrent; more are dropped
	MaxPeers     = 100     // x.pe peers kept from a magnet; more are dropped
	maxNameLen   = 255     // bytes kept of a magnet's display name
	maxURLLen    = 2048    // bytes in one tracker URL
)

// Magnet is a checked magnet link for a BitTorrent v1 (or hybrid) torrent.
type Magnet struct {
	InfoHash [20]byte // the v1 (SHA-1) infohash
	// Name is the display name (dn), cleaned of control characters and
	// invalid UTF-8, at most 255 bytes. It is for display only: the files'
	// names come from the metadata, which ValidateInfo checks.
	Name string
	// Trackers are the tr= URLs that are valid http, https or udp announce
	// URLs, in order, without duplicates, at most MaxTrackers. Others
	// (WebTorrent's wss:, garbage) are dropped, not refused: they cannot
	// work in Hearth and the link still can.
	Trackers []string
	// Peers are the x.pe= addresses that are a valid host:port, normalised
	// by net.JoinHostPort, without duplicates, at most MaxPeers; others are
	// dropped.
	Peers []string
	// Raw is the link as given (trimmed of surrounding space).
	Raw string
}

// String returns the canonical magnet link: xt first (Transmission and
// Deluge want "urn:btih:" unescaped and first), then dn, tr and x.pe.
// ParseMagnet(m.String()) gives back m's fields (but Raw).
func (m Magnet) String() string {
	var b strings.Builder
	b.WriteString("magnet:?xt=urn:btih:")
	b.WriteString(hex.EncodeToString(m.InfoHash[:]))
	if m.Name != "" {
		b.WriteString("&dn=")
		b.WriteString(url.QueryEscape(m.Name))
	}
	for _, tr := range m.Trackers {
		b.WriteString("&tr=")
		b.WriteString(url.QueryEscape(tr))
	}
	for _, p := range m.Peers {
		b.WriteString("&x.pe=")
		b.WriteString(url.QueryEscape(p))
	}
	return b.String()
}

// ParseMagnet parses a magnet link, or a bare infohash (40 hex digits or 32
// base32 characters) as a shorthand for one. The link must carry exactly one
// v1 infohash (xt=urn:btih:, repeated identical values are fine); a v2-only
// link (only urn:btmh) returns ErrV2Only, a BEP 46 channel link (urn:btpk)
// ErrChannelLink, both wrapped in an *Error like every other refusal. A
// hybrid link's btmh is ignored. Parameters may be numbered (xt.1, tr.2).
func ParseMagnet(s string) (Magnet, error) {
	s = strings.TrimSpace(s)
	if len(s) > MaxMagnetLen {
		return Magnet{}, inputErr(ErrTooLarge, "magnet link is longer than %d bytes", MaxMagnetLen)
	}
	if ih, ok := bareInfoHash(s); ok {
		return Magnet{InfoHash: ih, Raw: s}, nil
	}
	q, ok := cutMagnetPrefix(s)
	if !ok {
		return Magnet{}, inputErr(nil, "not a magnet link: it must start with \"magnet:?\"")
	}
	params, err := parseParams(q)
	if err != nil {
		return Magnet{}, err
	}
	if hasChannelKey(params) {
		// Before anything else can fail: a channel link is always reported
		// as one, as Detect classifies it.
		return Magnet{}, inputErr(ErrChannelLink, "a channel link (BEP 46 urn:btpk) is not a torrent: subscribe to the channel instead")
	}
	m := Magnet{Raw: s}
	var (
		haveV1, haveV2, haveName bool
		seen                     = map[string]bool{}
	)
	for _, p := range params {
		switch p.Key {
		case "xt": // other xt kinds (urn:sha1, urn:ed2k) are not BitTorrent
			v := p.Value
			switch lower := strings.ToLower(v[:min(len(v), 9)]); {
			case lower == "urn:btih:":
				ih, err := decodeInfoHash(v[len("urn:btih:"):])
				if err != nil {
					return Magnet{}, err
				}
				if haveV1 && ih != m.InfoHash {
					return Magnet{}, inputErr(nil, "magnet link has two different v1 infohashes")
				}
				m.InfoHash, haveV1 = ih, true
			case lower == "urn:btmh:":
				haveV2 = true
			}
		case "dn":
			if !haveName {
				m.Name, haveName = CleanName(p.Value), true
			}
		case "tr":
			if len(m.Trackers) < MaxTrackers && validTracker(p.Value) && !seen["tr "+p.Value] {
				seen["tr "+p.Value] = true
				m.Trackers = append(m.Trackers, p.Value)
			}
		case "x.pe":
			if hp, ok := normPeer(p.Value); ok && len(m.Peers) < MaxPeers && !seen["pe "+hp] {
				seen["pe "+hp] = true
				m.Peers = append(m.Peers, hp)
			}
		}
	}
	if !haveV1 {
		if haveV2 {
			return Magnet{}, inputErr(ErrV2Only, "magnet link has only a v2 (urn:btmh) infohash: v2-only torrents are not supported")
		}
		return Magnet{}, inputErr(nil, "magnet link has no \"xt=urn:btih:\" infohash")
	}
	// Escaping can make the canonical link longer than the input; it must
	// parse again (the engine stores it).
	if len(m.String()) > MaxMagnetLen {
		return Magnet{}, inputErr(ErrTooLarge, "magnet link is longer than %d bytes once escaped", MaxMagnetLen)
	}
	return m, nil
}

// hasChannelKey reports whether xs= or xt= names a BEP 46 public key.
func hasChannelKey(params []Param) bool {
	for _, p := range params {
		if (p.Key == "xs" || p.Key == "xt") && len(p.Value) >= 9 && strings.EqualFold(p.Value[:9], "urn:btpk:") {
			return true
		}
	}
	return false
}

// ParseInfoHash parses a v1 infohash: 40 hex digits or 32 base32 characters
// (either case).
func ParseInfoHash(s string) ([20]byte, error) {
	return decodeInfoHash(strings.TrimSpace(s))
}

func decodeInfoHash(s string) ([20]byte, error) {
	var ih [20]byte
	switch len(s) {
	case 40:
		if _, err := hex.Decode(ih[:], []byte(s)); err != nil {
			return ih, inputErr(nil, "infohash %s is not 40 hex digits", quote(s))
		}
	case 32:
		n, err := base32.StdEncoding.Decode(ih[:], []byte(strings.ToUpper(s)))
		if err != nil || n != 20 {
			return ih, inputErr(nil, "infohash %s is not 32 base32 characters", quote(s))
		}
	default:
		return ih, inputErr(nil, "infohash %s has %d characters: want 40 hex digits or 32 base32 characters", quote(clip(s)), len(s))
	}
	return ih, nil
}

func bareInfoHash(s string) ([20]byte, bool) {
	if len(s) != 40 && len(s) != 32 {
		return [20]byte{}, false
	}
	ih, err := decodeInfoHash(s)
	return ih, err == nil
}

// cutMagnetPrefix removes a case-insensitive "magnet:?" and returns the query.
func cutMagnetPrefix(s string) (string, bool) {
	const p = "magnet:?"
	if len(s) < len(p) || !strings.EqualFold(s[:len(p)], p) {
		return "", false
	}
	return s[len(p):], true
}

// Param is one key=value pair of a magnet link's query.
type Param struct{ Key, Value string }

// EscapeError is a magnet query part with a bad %-escape.
type EscapeError struct{ Part string }

func (e *EscapeError) Error() string { return "bad %-escape in " + quote(clip(e.Part)) }

// ParseParams splits a magnet query (what follows "magnet:?"). It is
// url.ParseQuery without its refusal of ";" (seen unescaped in display
// names), with keys lowercased and numbered keys (xt.1) folded into their
// base name. A bad %-escape is an *EscapeError.
func ParseParams(q string) ([]Param, error) {
	var out []Param
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		key, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, &EscapeError{Part: kv}
		}
		key = strings.ToLower(key)
		if base, n, ok := strings.Cut(key, "."); ok && isDigits(n) {
			key = base
		}
		out = append(out, Param{key, value})
	}
	return out, nil
}

// parseParams is ParseParams with the error users of magnets see.
func parseParams(q string) ([]Param, error) {
	params, err := ParseParams(q)
	if e, ok := err.(*EscapeError); ok {
		return nil, inputErr(nil, "magnet link has a bad %%-escape in %s", quote(clip(e.Part)))
	}
	return params, err
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// CleanName makes a display name safe to show: valid UTF-8, no control
// characters or bidi overrides, trimmed, at most 255 bytes. It is
// idempotent.
func CleanName(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		// Control characters, and bidi overrides that can make
		// "gpj.exe" read as "exe.jpg".
		if unicode.IsControl(r) || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
			return -1
		}
		return r
	}, s)
	if len(s) > maxNameLen {
		i := maxNameLen
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// validTracker reports whether s is an announce URL Hearth can use.
func validTracker(s string) bool {
	if s == "" || len(s) > maxURLLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return false
		}
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
		return false
	}
	switch u.Scheme {
	case "http", "https":
		return validPort(u.Port(), true)
	case "udp":
		return validPort(u.Port(), false)
	}
	return false
}

func validPort(p string, optional bool) bool {
	if p == "" {
		return optional
	}
	n, err := strconv.ParseUint(p, 10, 16)
	return err == nil && n > 0
}

// normPeer checks an x.pe host:port and returns it normalised.
func normPeer(s string) (string, bool) {
	host, port, err := net.SplitHostPort(s)
	if err != nil || !validPort(port, false) || host == "" {
		return "", false
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return "", false
		}
		host = a.String()
	} else if !validHostname(host) {
		return "", false
	}
	n, _ := strconv.ParseUint(port, 10, 16)
	return net.JoinHostPort(host, strconv.FormatUint(n, 10)), true
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
