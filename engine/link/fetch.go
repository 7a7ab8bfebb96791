package link

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Fetch limits.
const (
	// DefaultFetchTimeout applies when Fetch's context has no deadline.
	DefaultFetchTimeout = 60 * time.Second
	maxRedirects        = 5
)

// MagnetRedirectError is returned by Fetch when the URL redirects to a
// magnet link, as indexers (Jackett, Prowlarr) do for magnet-only results.
// It is not an *Error: the caller should go on with ParseMagnet(Magnet).
type MagnetRedirectError struct {
	Magnet string
}

func (e *MagnetRedirectError) Error() string {
	return "the URL redirects to a magnet link instead of a .torrent file"
}

// Fetch downloads a .torrent file over http or https; pass the bytes to
// ParseTorrent. Other schemes (file:, ftp:) are refused with an *Error
// wrapping ErrUnsupportedScheme, also when reached by a redirect; a redirect
// to a magnet link returns a *MagnetRedirectError. At most 5 redirects are
// followed and MaxTorrentSize bytes read; an answer other than 200 OK, or
// one that is not bencode (a web page), is an *Error. The Content-Type is
// not trusted either way. ctx bounds the whole download; without a deadline
// DefaultFetchTimeout applies. client may be nil (a zero http.Client); its
// CheckRedirect is replaced, the rest is used as is. Network failures are
// ordinary errors. Messages show the URL without its query, which often
// holds an indexer's API key.
func Fetch(ctx context.Context, client *http.Client, rawURL string) ([]byte, error) {
	u, err := fetchURL(rawURL)
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultFetchTimeout)
		defer cancel()
	}
	var c http.Client
	if client != nil {
		c = *client
	}
	c.CheckRedirect = checkRedirect
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, inputErr(nil, "bad URL %s: %v", quote(shown(u)), err)
	}
	req.Header.Set("Accept", "application/x-bittorrent, */*;q=0.8")
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message repeats the URL, query included
		}
		var mr *MagnetRedirectError
		var le *Error
		if errors.As(err, &mr) || errors.As(err, &le) {
			return nil, err
		}
		return nil, fmt.Errorf("fetch %s: %w", shown(u), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, inputErr(nil, "fetch %s: the server answered %s", shown(u), quote(clip(resp.Status)))
	}
	if resp.ContentLength > MaxTorrentSize {
		return nil, inputErr(ErrTooLarge, "fetch %s: the file is larger than %d MiB", shown(u), MaxTorrentSize>>20)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxTorrentSize+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", shown(u), err)
	}
	if len(b) > MaxTorrentSize {
		return nil, inputErr(ErrTooLarge, "fetch %s: the file is larger than %d MiB", shown(u), MaxTorrentSize>>20)
	}
	if len(b) == 0 || b[0] != 'd' {
		ct := resp.Header.Get("Content-Type")
		if ct == "" {
			ct = "no content type"
		}
		return nil, inputErr(nil, "fetch %s: the server did not send a .torrent file (%s)", shown(u), quote(clip(ct)))
	}
	return b, nil
}

// fetchURL parses and checks a URL to fetch.
func fetchURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if len(raw) > maxURLLen {
		return nil, inputErr(ErrTooLarge, "URL is longer than %d bytes", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, inputErr(nil, "bad URL %s", quote(clip(raw)))
	}
	if err := checkScheme(u); err != nil {
		return nil, err
	}
	if u.Host == "" {
		return nil, inputErr(nil, "URL %s has no host", quote(clip(raw)))
	}
	return u, nil
}

func checkScheme(u *url.URL) error {
	switch u.Scheme {
	case "http", "https":
		return nil
	case "":
		return inputErr(ErrUnsupportedScheme, "URL %s has no scheme: give an http(s) URL", quote(clip(u.String())))
	}
	// url.Parse allows only [a-z0-9+.-] in a scheme: safe to show as is.
	return inputErr(ErrUnsupportedScheme, "only http and https URLs can be fetched, not %s: URLs", clip(u.Scheme))
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if req.URL.Scheme == "magnet" {
		link := req.URL.String()
		if req.Response != nil {
			link = req.Response.Header.Get("Location") // as sent, not re-encoded
		}
		return &MagnetRedirectError{Magnet: link}
	}
	if checkScheme(req.URL) != nil {
		return inputErr(ErrUnsupportedScheme, "fetch %s: it redirects to a %s: URL; only http and https are fetched", shown(via[0].URL), clip(req.URL.Scheme))
	}
	if len(via) > maxRedirects {
		return inputErr(nil, "fetch %s: more than %d redirects", shown(via[0].URL), maxRedirects)
	}
	return nil
}

// shown is a URL for messages and logs: no query, no password.
func shown(u *url.URL) string {
	v := *u
	v.RawQuery, v.ForceQuery, v.Fragment, v.RawFragment = "", false, "", ""
	if v.User != nil {
		v.User = url.User(v.User.Username())
	}
	return clip(v.String())
}
