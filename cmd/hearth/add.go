package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/channel"
	"github.com/hearth-media/hearth/engine/link"
)

func cmdAdd() *command {
	return &command{
		name:  "add",
		args:  "[flags] FILE|MAGNET|URL|INFOHASH",
		short: "add a torrent: a .torrent file, magnet link, URL or infohash",
		long: `
Add a torrent to the daemon. The argument is one of:
  - a .torrent file on this machine ("-" reads it from standard input); the
    file is uploaded, so the daemon may run elsewhere
  - a magnet link (quote it: it contains "&")
  - an http:// or https:// URL of a .torrent file, fetched by the daemon
  - a bare infohash (40 hex or 32 base32 characters)
  - a channel link (magnet:?xs=urn:btpk:…): it subscribes to the channel,
    as "hearth subscribe" does (--dir and --peer apply; --paused and
    --files do not)
  - an invite file (.hearth) from a share page: its channel, as above

With --wait, show the progress until every wanted file is downloaded and
verified: a live line on a terminal, a line every few seconds otherwise.
Ctrl-C stops waiting, not the download. An error of the torrent ends the
wait with exit code 1.`,
		example: `
hearth add ubuntu.torrent --wait
hearth add 'magnet:?xt=urn:btih:…&dn=…' --dir /srv/media/films
hearth add https://example.org/file.torrent --paused
hearth add big.torrent --files 0,2,5 --peer 192.168.1.20:51413`,
		setup: func(fs *flag.FlagSet, c *cli) func(context.Context, []string) error {
			api := apiFlag(fs)
			dir := fs.String("dir", "", "download into `DIR` (absolute, or relative to the current folder) instead of the default")
			paused := fs.Bool("paused", false, "add the torrent stopped")
			wait := fs.Bool("wait", false, "wait until the download is complete, showing progress")
			files := fs.String("files", "", "download only the files with these `INDEXES` (comma separated, from \"hearth info\")")
			var peers stringList
			fs.Var(&peers, "peer", "also connect to the peer at `HOST:PORT` (repeatable)")
			asJSON := fs.Bool("json", false, "print the torrent as JSON (with --wait: once complete)")
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return usageErrorf("add takes one torrent (file, magnet, URL or infohash), got %d arguments", len(args))
				}
				cl, err := newClient(*api)
				if err != nil {
					return err
				}
				if strings.HasSuffix(strings.ToLower(args[0]), ".hearth") {
					// An invite from a share page: its channel link.
					if args[0], err = readInvite(args[0]); err != nil {
						return err
					}
				}
				body, err := c.addBody(args[0])
				if err != nil {
					return err
				}
				if *dir != "" {
					if body.Dir, err = filepath.Abs(*dir); err != nil {
						return fmt.Errorf("--dir %s: %w", *dir, err)
					}
				}
				body.Paused = *paused
				body.Peers = peers
				if flagsSet(fs)["files"] {
					if body.Files, err = parseIndexes(*files); err != nil {
						return usageErrorf("--files: %v", err)
					}
				}
				if channel.IsLink(body.Magnet) {
					return c.addChannelLink(ctx, cl, body, *wait, *asJSON) // channel.go
				}
				var raw json.RawMessage
				if err := cl.do(ctx, http.MethodPost, "/torrents", body, &raw); err != nil {
					return err
				}
				var res addResult
				if sub, ok := subscribedAnswer(raw); ok {
					// A URL whose server redirected to a channel link.
					return c.subscribed(ctx, cl, sub, *wait, *asJSON)
				} else if err := json.Unmarshal(raw, &res); err != nil {
					return fmt.Errorf("read the daemon's answer: %w", err)
				}
				if *asJSON && !*wait {
					return writeJSON(c.stdout, res)
				}
				if !*asJSON {
					if res.Existed {
						fmt.Fprintf(c.stdout, "already added as torrent %d: %s\n", res.ID, oneLine(res.Name))
					} else {
						fmt.Fprintf(c.stdout, "added torrent %d: %s\n", res.ID, oneLine(res.Name))
					}
				}
				if !*wait {
					return nil
				}
				return c.wait(ctx, cl, res.ID, *asJSON)
			}
		},
	}
}

// subscribedAnswer reads POST /api/v1/torrents's answer to a channel
// link: the subscription, marked "subscription": true.
func subscribedAnswer(raw []byte) (subscribedResult, bool) {
	var res struct {
		subscribedResult
		IsSubscription bool `json:"subscription"`
	}
	if json.Unmarshal(raw, &res) != nil || !res.IsSubscription {
		return subscribedResult{}, false
	}
	return res.subscribedResult, true
}

// addBody is the JSON of POST /api/v1/torrents.
type addBody struct {
	Magnet   string   `json:"magnet,omitempty"`
	URL      string   `json:"url,omitempty"`
	Metainfo []byte   `json:"metainfo,omitempty"`
	Dir      string   `json:"dir,omitempty"`
	Paused   bool     `json:"paused,omitempty"`
	Files    []int    `json:"files,omitempty"`
	Peers    []string `json:"peers,omitempty"`
}

// addResult is the answer of POST /api/v1/torrents.
type addResult struct {
	engine.Torrent
	Existed bool `json:"existed"`
}

// maxTorrentFile is what the daemon accepts.
const maxTorrentFile = 16 << 20

// addBody reads or classifies the argument of add.
func (c *cli) addBody(arg string) (addBody, error) {
	kind, err := classifyAdd(arg, func(p string) bool {
		st, err := os.Stat(p)
		return err == nil && !st.IsDir()
	})
	if err != nil {
		return addBody{}, err
	}
	switch kind {
	case "magnet":
		return addBody{Magnet: arg}, nil
	case "url":
		return addBody{URL: arg}, nil
	case "stdin":
		b, err := readTorrent(c.stdin, "standard input")
		return addBody{Metainfo: b}, err
	}
	f, err := os.Open(arg)
	if err != nil {
		return addBody{}, err
	}
	defer f.Close()
	b, err := readTorrent(f, arg)
	return addBody{Metainfo: b}, err
}

func readTorrent(r io.Reader, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxTorrentFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(b) > maxTorrentFile {
		return nil, fmt.Errorf("%s is larger than %d MiB: not a .torrent file", name, maxTorrentFile>>20)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%s is empty", name)
	}
	return b, nil
}

// classifyAdd says what the argument of add is: "file" (an existing file
// wins over every other reading), "stdin" ("-"), "magnet" (a magnet link or
// a bare infohash, which the daemon takes as a magnet) or "url".
func classifyAdd(arg string, isFile func(string) bool) (string, error) {
	if arg == "-" {
		return "stdin", nil
	}
	if isFile(arg) {
		return "file", nil
	}
	if strings.HasSuffix(strings.ToLower(arg), ".torrent") && !strings.Contains(arg, "://") {
		var pe *os.PathError
		if _, err := os.Stat(arg); errors.As(err, &pe) {
			return "", fmt.Errorf("torrent file %s: %w", arg, pe.Err)
		}
		return "", fmt.Errorf("torrent file %s: is a directory", arg)
	}
	k, err := link.Detect(arg)
	if err != nil {
		return "", usageErrorf("%v (or the path of a .torrent file)", err)
	}
	switch k {
	case link.KindMagnet, link.KindChannel, link.KindInfoHash:
		return "magnet", nil
	case link.KindURL:
		return "url", nil
	}
	return "", usageErrorf("%q is not a .torrent file, magnet link, http(s) URL or infohash", arg)
}

// parseIndexes parses "0,2,5"; the command line needs at least one.
func parseIndexes(s string) ([]int, error) {
	out, err := engine.ParseFileIndexes(s)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no file index given")
	}
	return out, nil
}

// Progress refresh: a terminal line at most 4 times a second; plain lines
// every plainEvery (and at each change of state).
const (
	ttyInterval   = 250 * time.Millisecond
	plainInterval = time.Second
	plainEvery    = 5 * time.Second
)

// wait polls torrent id until it is complete or fails.
func (c *cli) wait(ctx context.Context, cl *client, id int64, asJSON bool) error {
	ref := strconv.FormatInt(id, 10)
	width := termWidth(c.stdout)
	tty := width > 0 && !asJSON
	interval := plainInterval
	if tty {
		interval = ttyInterval
	}
	var (
		lastPlain time.Time
		lastState engine.State
		drawn     bool
	)
	endLine := func() {
		if drawn {
			fmt.Fprintln(c.stdout)
			drawn = false
		}
	}
	for {
		t, err := cl.get(ctx, ref)
		if err != nil {
			endLine()
			if ctx.Err() != nil {
				return c.stoppedWaiting(id)
			}
			var ae *apiError
			if errors.As(err, &ae) && ae.status == http.StatusNotFound {
				return fmt.Errorf("torrent %d was removed while waiting for it", id)
			}
			return err
		}
		switch {
		case t.State == engine.StateError:
			if tty {
				fmt.Fprintf(c.stdout, "\r%s\x1b[K", progressLine(t, width))
				drawn = true
			}
			endLine()
			return fmt.Errorf("torrent %d %s: %s", t.ID, oneLine(t.Name), oneLine(t.Error))
		case complete(t):
			if asJSON {
				return writeJSON(c.stdout, t)
			}
			if tty {
				fmt.Fprintf(c.stdout, "\r%s\x1b[K", progressLine(t, width))
				drawn = true
			}
			endLine()
			fmt.Fprintf(c.stdout, "torrent %d %s: complete (%s)\n", t.ID, oneLine(t.Name), humanSize(t.WantedSize))
			return nil
		case tty:
			fmt.Fprintf(c.stdout, "\r%s\x1b[K", progressLine(t, width))
			drawn = true
		case !asJSON && (t.State != lastState || time.Since(lastPlain) >= plainEvery):
			fmt.Fprintln(c.stdout, plainProgress(t))
			lastPlain, lastState = time.Now(), t.State
		}
		select {
		case <-ctx.Done():
			endLine()
			return c.stoppedWaiting(id)
		case <-time.After(interval):
		}
	}
}

func (c *cli) stoppedWaiting(id int64) error {
	fmt.Fprintf(c.stderr, "hearth: stopped waiting; torrent %d goes on in the daemon (see \"hearth info %d\")\n", id, id)
	return &silentError{code: exitInterrupted}
}
