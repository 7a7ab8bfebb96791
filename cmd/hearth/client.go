package main

import (
	"bytes"
	"context"
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

// apiFlag registers --api on a client command; its default comes from
// $HEARTH_API.
func apiFlag(fs *flag.FlagSet) *string {
	def := getenv("HEARTH_API")
	if def == "" {
		def = defaultAPI
	}
	return fs.String("api", def, "`URL` of the daemon's API ($HEARTH_API)")
}

// client talks to the daemon's /api/v1.
type client struct {
	base string // scheme://host:port, no trailing slash
	hc   *http.Client
}

func newClient(api string) (*client, error) {
	u, err := url.Parse(api)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErrorf("--api %q: want a URL like %s", api, defaultAPI)
	}
	return &client{
		base: strings.TrimSuffix(u.String(), "/"),
		// Generous: adding a URL makes the daemon fetch it (30 s at most).
		hc: &http.Client{Timeout: 90 * time.Second},
	}, nil
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
