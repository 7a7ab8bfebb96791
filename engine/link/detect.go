package link

import (
	"strings"
)

// Kind is what a link argument is.
type Kind int

const (
	KindMagnet      Kind = iota + 1 // magnet:?xt=urn:btih:… → ParseMagnet
	KindChannel                     // BEP 46 magnet:?xs=urn:btpk:… → the channel manager (ParseMagnet: ErrChannelLink)
	KindTorrentFile                 // bencoded .torrent contents → ParseTorrent
	KindURL                         // http(s) URL of a .torrent → Fetch, then ParseTorrent
	KindInfoHash                    // 40 hex digits or 32 base32 characters → ParseMagnet
)

func (k Kind) String() string {
	switch k {
	case KindMagnet:
		return "magnet"
	case KindChannel:
		return "channel"
	case KindTorrentFile:
		return "torrent file"
	case KindURL:
		return "url"
	case KindInfoHash:
		return "infohash"
	}
	return "unknown"
}

// Detect classifies a link given as a string (a CLI argument, an API field).
// It only looks at the form: the parser for the kind does the checking, so a
// broken magnet link is still KindMagnet. File paths are not recognised:
// callers look at the file system first. Anything else is an *Error
// (unsupported schemes wrap ErrUnsupportedScheme).
func Detect(s string) (Kind, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, inputErr(nil, "the link is empty")
	}
	if q, ok := cutMagnetPrefix(s); ok {
		if isChannel(q) {
			return KindChannel, nil
		}
		return KindMagnet, nil
	}
	if _, ok := bareInfoHash(s); ok {
		return KindInfoHash, nil
	}
	if len(s) > 1 && s[0] == 'd' && s[1] >= '0' && s[1] <= '9' {
		return KindTorrentFile, nil
	}
	if scheme, _, ok := cutScheme(s); ok {
		switch strings.ToLower(scheme) {
		case "http", "https":
			return KindURL, nil
		case "magnet":
			return 0, inputErr(nil, "not a magnet link: it must start with \"magnet:?\"")
		}
		// cutScheme allows only [A-Za-z0-9+.-]: safe to show as is.
		return 0, inputErr(ErrUnsupportedScheme, "%s: links are not supported: give a magnet link, an infohash or the http(s) URL of a .torrent file", clip(strings.ToLower(scheme)))
	}
	return 0, inputErr(nil, "%s is not a magnet link, an infohash or an http(s) URL", quote(clip(s)))
}

// isChannel reports whether a magnet query names a BEP 46 public key. A
// query that does not parse is left to ParseMagnet to explain.
func isChannel(q string) bool {
	params, err := parseParams(q)
	return err == nil && hasChannelKey(params)
}

// cutScheme splits "scheme:rest" where scheme is a URL scheme (RFC 3986:
// a letter, then letters, digits, "+", "-", ".").
func cutScheme(s string) (scheme, rest string, ok bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return s[:i], s[i+1:], true
		default:
			return "", "", false
		}
	}
	return "", "", false
}
