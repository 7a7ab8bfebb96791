package link

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels for the kinds of refusal a caller may want to tell apart. They are
// reached with errors.Is through an *Error.
var (
	// ErrChannelLink is a BEP 46 magnet (xs=urn:btpk:…): a mutable channel,
	// not a torrent. The engine never takes one (the torrent library
	// panics on them); the layers above route these links to the channel
	// manager (engine/channel), which subscribes, so a caller only sees
	// this error where no channel manager is there to take the link.
	ErrChannelLink = errors.New("link: a channel link (BEP 46 urn:btpk), not a torrent")
	// ErrV2Only is a BitTorrent v2-only torrent or magnet (btmh without btih).
	ErrV2Only = errors.New("link: v2-only torrents are not supported")
	// ErrTooLarge is input over one of the size or count limits.
	ErrTooLarge = errors.New("link: input too large")
	// ErrUnsafePath is a file name that could escape the download directory
	// or that Hearth cannot store.
	ErrUnsafePath = errors.New("link: unsafe file path")
	// ErrUnsupportedScheme is a URL Hearth does not fetch (file:, ftp:, …).
	ErrUnsupportedScheme = errors.New("link: unsupported URL scheme")
)

// Error is input that Hearth refuses: a bad link, torrent, path or URL. The
// API maps it to a 4xx answer. Msg is one line meant for the user; Err, when
// set, is one of the sentinels above or the underlying cause.
type Error struct {
	Msg string
	Err error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// inputErr makes an *Error wrapping sentinel (which may be nil).
func inputErr(sentinel error, format string, args ...any) *Error {
	return &Error{Msg: oneLine(fmt.Sprintf(format, args...)), Err: sentinel}
}

// maxMsg bounds the length of an error message: messages quote user input.
const maxMsg = 300

// oneLine keeps a message on one line and short; user input inside it is
// already %q-quoted, this is a last guard.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
	if len(s) > maxMsg {
		s = strings.ToValidUTF8(s[:maxMsg], "") + "…"
	}
	return s
}

// clip shortens user input quoted in a message.
func clip(s string) string {
	const n = 80
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
