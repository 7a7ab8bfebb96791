package channel

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/hearth-media/hearth/engine/link"
	"github.com/hearth-media/hearth/engine/mutable"
)

// Link limits.
const (
	MaxLinkLen  = 4 << 10 // bytes in a channel link
	MaxLinkPeer = 20      // x.pe peer hints kept
	maxNameLen  = 255     // bytes of a display name
)

// ErrBadLink is wrapped by every error of ParseLink.
var ErrBadLink = errors.New("channel: bad channel link")

// Link is a BEP 46 channel link:
//
//	magnet:?xs=urn:btpk:<64 hex digits of the ed25519 public key>&s=<hex salt>&dn=<name>
//
// s (the salt) is optional, dn is for display only (it is not signed).
type Link struct {
	PublicKey [32]byte
	Salt      []byte   // 0 to 64 bytes
	Name      string   // display name, cleaned; may be empty
	Peers     []string // x.pe hints (host:port), checked; may be empty
}

// Target is the DHT key of the channel's items.
func (l Link) Target() [20]byte { return mutable.Target(l.PublicKey, l.Salt) }

// String formats the link: xs first, then s, dn and x.pe.
func (l Link) String() string {
	var b strings.Builder
	b.WriteString("magnet:?xs=urn:btpk:")
	b.WriteString(hex.EncodeToString(l.PublicKey[:]))
	if len(l.Salt) > 0 {
		b.WriteString("&s=")
		b.WriteString(hex.EncodeToString(l.Salt))
	}
	if l.Name != "" {
		b.WriteString("&dn=")
		b.WriteString(url.QueryEscape(l.Name))
	}
	for _, p := range l.Peers {
		b.WriteString("&x.pe=")
		b.WriteString(url.QueryEscape(p))
	}
	return b.String()
}

// ParseLink parses a channel link strictly: "magnet:?" (any case), exactly
// one xs=urn:btpk: with 64 hex digits (repeated identical values are
// fine), at most one salt of at most 64 bytes in hex, no xt (a link is a
// channel or a torrent, not both), percent-escapes that decode. dn is
// cleaned of control characters and cut to 255 bytes; x.pe peers that are
// not a host:port are dropped. Other parameters (tr, ws, …) are ignored.
// Every error wraps ErrBadLink and says what is wrong in one line.
func ParseLink(s string) (Link, error) {
	s = strings.TrimSpace(s)
	if len(s) > MaxLinkLen {
		return Link{}, linkErr("longer than %d bytes", MaxLinkLen)
	}
	const prefix = "magnet:?"
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return Link{}, linkErr("it must start with %q", prefix)
	}
	var (
		l                         Link
		haveKey, haveSalt, haveDN bool
	)
	params, err := link.ParseParams(s[len(prefix):])
	if e, ok := err.(*link.EscapeError); ok {
		return Link{}, linkErr("bad %%-escape in %s", quote(e.Part))
	}
	for _, p := range params {
		key, val := p.Key, p.Value
		switch key {
		case "xs":
			const urn = "urn:btpk:"
			if len(val) < len(urn) || !strings.EqualFold(val[:len(urn)], urn) {
				continue // another exact source (a web seed): not ours to use
			}
			pk, err := decodeKey(val[len(urn):])
			if err != nil {
				return Link{}, err
			}
			if haveKey && pk != l.PublicKey {
				return Link{}, linkErr("two different public keys")
			}
			l.PublicKey, haveKey = pk, true
		case "xt":
			return Link{}, linkErr("it has an xt (a torrent) as well as a channel key")
		case "s":
			salt, err := hex.DecodeString(val)
			switch {
			case err != nil:
				return Link{}, linkErr("salt %s is not hex", quote(val))
			case len(salt) > mutable.MaxSaltSize:
				return Link{}, linkErr("salt is %d bytes, more than %d", len(salt), mutable.MaxSaltSize)
			case haveSalt && string(salt) != string(l.Salt):
				return Link{}, linkErr("two different salts")
			}
			l.Salt, haveSalt = salt, true
		case "dn":
			if !haveDN {
				l.Name, haveDN = link.CleanName(val), true
			}
		case "x.pe":
			if p, ok := normPeer(val); ok && len(l.Peers) < MaxLinkPeer && !slices.Contains(l.Peers, p) {
				l.Peers = append(l.Peers, p)
			}
		}
	}
	if !haveKey {
		return Link{}, linkErr("no xs=urn:btpk: public key")
	}
	if len(l.Salt) == 0 {
		l.Salt = nil
	}
	if len(l.String()) > MaxLinkLen {
		return Link{}, linkErr("longer than %d bytes once escaped", MaxLinkLen)
	}
	return l, nil
}

// IsLink reports whether s looks like a channel link (a magnet with an
// urn:btpk key), whether or not it is valid.
func IsLink(s string) bool {
	s = strings.TrimSpace(s)
	return len(s) > 8 && strings.EqualFold(s[:8], "magnet:?") && strings.Contains(strings.ToLower(s), "urn:btpk:")
}

func decodeKey(s string) ([32]byte, error) {
	var k [32]byte
	if len(s) != 64 {
		return k, linkErr("public key has %d characters, want 64 hex digits", len(s))
	}
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return k, linkErr("public key %s is not hex", quote(s))
	}
	return k, nil
}

func linkErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadLink, fmt.Sprintf(format, args...))
}

// quote shows user input in a message: escaped and at most 80 bytes.
func quote(s string) string {
	if len(s) > 80 {
		s = strings.ToValidUTF8(s[:80], "") + "…"
	}
	return strconv.Quote(s)
}

// normPeer checks a host:port peer hint (IP literals only: a link must
// not make the daemon resolve names) and returns it normalised.
func normPeer(s string) (string, bool) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil || ap.Port() == 0 || ap.Addr().Zone() != "" {
		return "", false
	}
	return net.JoinHostPort(ap.Addr().Unmap().String(), strconv.Itoa(int(ap.Port()))), true
}
