package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/hearth-media/hearth/engine"
)

// defaultAPI is where client commands look for the daemon.
const defaultAPI = "http://127.0.0.1:9091"

// apiFlag registers --api and --user on a client command; their defaults
// come from $HEARTH_API and $HEARTH_USER. The value it returns is the URL
// with --user folded in as its user name (http://admin@host:9091), which
// newClient takes apart again: commands pass one string around.
func apiFlag(fs *flag.FlagSet) *string {
	def := getenv("HEARTH_API")
	if def == "" {
		def = defaultAPI
	}
	v := &apiFlags{raw: def}
	v.fold()
	fs.Var((*apiURLFlag)(v), "api", "`URL` of the daemon's API; http://USER:PASSWORD@HOST:PORT logs in ($HEARTH_API)")
	fs.Var((*apiUserFlag)(v), "user", "log in as `USER`: the password comes from $HEARTH_PASSWORD or a prompt ($HEARTH_USER; a paired device sets $HEARTH_TOKEN instead)")
	return &v.out
}

// apiFlags holds --api and --user; out is what apiFlag's pointer reads.
type apiFlags struct {
	raw, user, out string
}

// fold puts the user name into the URL unless the URL carries one.
func (v *apiFlags) fold() {
	v.out = v.raw
	if v.user == "" {
		return
	}
	if u, err := url.Parse(v.raw); err == nil && u.User == nil && u.Host != "" {
		u.User = url.User(v.user)
		v.out = u.String()
	}
}

type apiURLFlag apiFlags

func (f *apiURLFlag) String() string {
	if f == nil {
		return ""
	}
	return redactURL(f.raw)
}

func (f *apiURLFlag) Set(s string) error {
	f.raw = s
	(*apiFlags)(f).fold()
	return nil
}

type apiUserFlag apiFlags

func (f *apiUserFlag) String() string { return "" }

func (f *apiUserFlag) Set(s string) error {
	f.user = s
	(*apiFlags)(f).fold()
	return nil
}

// redactURL hides a password in a URL before it is shown anywhere.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// client talks to the daemon's /api/v1.
type client struct {
	base string // scheme://host:port, no trailing slash, no user info
	hc   *http.Client
	// auth is the Authorization header to send ("" = none).
	auth string
}

// newClient parses api (a URL, maybe with user info) and finds the
// credentials to send, first found wins: a password in the URL; a user
// name in the URL (or --user) with $HEARTH_PASSWORD or a prompt on the
// terminal; $HEARTH_TOKEN; $HEARTH_USER with $HEARTH_PASSWORD or a
// prompt. With none, requests go without: the daemon trusts its own
// loopback callers.
func newClient(api string) (*client, error) {
	u, err := url.Parse(api)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErrorf("--api %q: want a URL like %s", redactURL(api), defaultAPI)
	}
	c := &client{
		// Generous: adding a URL makes the daemon fetch it (30 s at most).
		hc: &http.Client{Timeout: 90 * time.Second},
	}
	user, pass, havePass := "", "", false
	if u.User != nil {
		user = u.User.Username()
		pass, havePass = u.User.Password()
		u.User = nil
	}
	c.base = strings.TrimSuffix(u.String(), "/")
	switch tok := getenv("HEARTH_TOKEN"); {
	case user != "" || havePass:
	case tok != "":
		c.auth = "Bearer " + tok
		return c, nil
	default:
		user = getenv("HEARTH_USER")
	}
	if user == "" && !havePass {
		return c, nil
	}
	if !havePass {
		pass, havePass = getenv("HEARTH_PASSWORD"), getenv("HEARTH_PASSWORD") != ""
	}
	if !havePass {
		if pass, err = promptPassword(fmt.Sprintf("Password for %s at %s: ", user, c.base)); err != nil {
			return nil, err
		}
	}
	c.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	return c, nil
}

// apiError is an error answer from the daemon.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

// do sends in (JSON, unless nil) and decodes the answer into out (unless nil).
func (c *client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/api/v1"+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if unreachable(err) {
			return &unreachableError{api: c.base, err: err}
		}
		return fmt.Errorf("talk to the daemon at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("read the daemon's answer: %w", err)
	}
	if resp.StatusCode >= 400 {
		var eb struct {
			Error string `json:"error"`
		}
		if resp.StatusCode == http.StatusUnauthorized {
			return c.authError()
		}
		if json.Unmarshal(data, &eb) == nil && eb.Error != "" {
			return &apiError{status: resp.StatusCode, msg: eb.Error}
		}
		return &apiError{status: resp.StatusCode, msg: fmt.Sprintf("unexpected answer from %s (HTTP %s): is it a hearth daemon?", c.base, resp.Status)}
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = append((*raw)[:0], data...)
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("unexpected answer from %s: %v (is it a hearth daemon?)", c.base, err)
	}
	return nil
}

// authError is the one line a user sees when the daemon answers 401.
func (c *client) authError() error {
	if c.auth == "" {
		return &apiError{status: http.StatusUnauthorized, msg: fmt.Sprintf(
			"the daemon at %s wants credentials: log in with --user NAME (or $HEARTH_USER and $HEARTH_PASSWORD), "+
				"or pair this computer (\"hearth pair --request NAME\") and set $HEARTH_TOKEN; see \"hearth help passwd\"", c.base)}
	}
	return &apiError{status: http.StatusUnauthorized, msg: fmt.Sprintf(
		"the daemon at %s refused the credentials (wrong user name or password, or a revoked token): "+
			"check --user/$HEARTH_USER and $HEARTH_PASSWORD, or $HEARTH_TOKEN (a revoked device must pair again)", c.base)}
}

// unreachable tells "nobody is listening there" from other failures.
func unreachable(err error) bool {
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &de) || (errors.As(err, &oe) && oe.Op == "dial") ||
		errors.Is(err, syscall.ECONNREFUSED)
}

// torrentPath is the API path of a torrent reference.
func torrentPath(ref string) string {
	return "/torrents/" + url.PathEscape(ref)
}

func (c *client) get(ctx context.Context, ref string) (engine.Torrent, error) {
	var t engine.Torrent
	err := c.do(ctx, http.MethodGet, torrentPath(ref), nil, &t)
	return t, err
}

func (c *client) list(ctx context.Context) ([]engine.Torrent, error) {
	var l struct {
		Torrents []engine.Torrent `json:"torrents"`
	}
	err := c.do(ctx, http.MethodGet, "/torrents", nil, &l)
	return l.Torrents, err
}

// forEachRef runs op for each reference, reporting failures one line each
// and going on with the rest. An unreachable daemon or an interrupt stops
// at once.
func (c *cli) forEachRef(ctx context.Context, refs []string, op func(ref string) error) error {
	failed := 0
	for _, ref := range refs {
		err := op(ref)
		if err == nil {
			continue
		}
		var re *unreachableError
		if errors.As(err, &re) || errors.Is(err, context.Canceled) {
			return err
		}
		fmt.Fprintln(c.stderr, "hearth: "+oneLine(err.Error()))
		failed++
	}
	if failed > 0 {
		return &silentError{code: exitFailed}
	}
	return nil
}

// writeJSON prints v indented, for --json.
func writeJSON(w io.Writer, v any) error {
	if raw, ok := v.(json.RawMessage); ok {
		var buf bytes.Buffer
		if err := json.Indent(&buf, bytes.TrimSpace(raw), "", "  "); err != nil {
			return err
		}
		buf.WriteByte('\n')
		_, err := w.Write(buf.Bytes())
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
