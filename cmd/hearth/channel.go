package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-media/hearth/engine/channel"
)

func cmdChannel() *command {
	return &command{
		name:  "channel",
		args:  "create|add|rm|publish|link|ls|export-key|import-key|delete ...",
		short: "publish a collection of files as a channel others subscribe to",
		long: `
A channel is a folder of files (photos, videos) this device publishes: every
device that subscribed to its link gets each new version on its own, with no
server in between (BitTorrent, BEP 46 over the DHT). Subscribers share what
they have with each other, so the publisher sends each file about once.

  create NAME             make a channel (a new key; --salt HEX is optional)
  add NAME PATH...        put files or folders into it; they are hard-linked
                          (or copied) into the channel's folder on the daemon
  rm NAME ITEM...         take files or folders out (paths inside the channel)
  publish NAME            publish the current content as a new version now
                          (it also happens on its own 30 s after a change)
  link NAME               print the link to give to subscribers
  ls [NAME]               list channels, or the files of one
  export-key NAME         print the channel's key backup (or --out FILE, mode
                          0600): whoever has it can publish as the channel
  import-key FILE         bring a channel's key back from a backup ("-" reads
                          standard input; --name renames it)
  delete NAME             stop publishing and forget the key (--delete-data
                          also deletes the channel's folder)

PATHs are on the daemon's machine: relative ones are taken from the current
folder, so this works when the daemon runs here. See docs/channels.md.`,
		example: `
hearth channel create "Family photos"
hearth channel add "Family photos" ~/Pictures/2026-summer ~/Videos/birthday.mp4
hearth channel link "Family photos"
hearth channel rm "Family photos" 2026-summer/IMG_0042.jpg
hearth channel ls "Family photos"
hearth channel export-key "Family photos" --out family-photos.key`,
		setup: func(fs *flag.FlagSet, c *cli) func(context.Context, []string) error {
			api := apiFlag(fs)
			asJSON := fs.Bool("json", false, "print the API's JSON")
			salt := fs.String("salt", "", "create: the channel's salt, in `HEX` (several channels under one key)")
			out := fs.String("out", "", "export-key: write the backup to `FILE` (mode 0600) instead of standard output")
			name := fs.String("name", "", "import-key: the channel's `NAME` here (default: the backup's)")
			del := fs.Bool("delete-data", false, "delete: also delete the channel's folder")
			return func(ctx context.Context, args []string) error {
				if len(args) == 0 {
					return usageErrorf("channel needs a subcommand: create, add, rm, publish, link, ls, export-key, import-key or delete")
				}
				sub, args := args[0], args[1:]
				set := flagsSet(fs)
				for flagName, only := range map[string]string{"salt": "create", "out": "export-key", "name": "import-key", "delete-data": "delete"} {
					if set[flagName] && sub != only {
						return usageErrorf("--%s goes with \"channel %s\" only", flagName, only)
					}
				}
				cl, err := newClient(*api)
				if err != nil {
					return err
				}
				cc := channelCLI{c: c, cl: cl, json: *asJSON}
				switch sub {
				case "create":
					if len(args) != 1 {
						return usageErrorf("channel create takes one NAME")
					}
					return cc.create(ctx, args[0], *salt)
				case "add":
					if len(args) < 2 {
						return usageErrorf("channel add takes a NAME and at least one PATH")
					}
					return cc.add(ctx, args[0], args[1:])
				case "rm":
					if len(args) < 2 {
						return usageErrorf("channel rm takes a NAME and at least one ITEM")
					}
					return cc.rm(ctx, args[0], args[1:])
				case "publish":
					if len(args) != 1 {
						return usageErrorf("channel publish takes one NAME")
					}
					return cc.publish(ctx, args[0])
				case "link":
					if len(args) != 1 {
						return usageErrorf("channel link takes one NAME")
					}
					return cc.link(ctx, args[0])
				case "ls":
					switch len(args) {
					case 0:
						return cc.list(ctx)
					case 1:
						return cc.items(ctx, args[0])
					}
					return usageErrorf("channel ls takes at most one NAME")
				case "export-key":
					if len(args) != 1 {
						return usageErrorf("channel export-key takes one NAME")
					}
					return cc.exportKey(ctx, args[0], *out)
				case "import-key":
					if len(args) != 1 {
						return usageErrorf("channel import-key takes one FILE (\"-\" for standard input)")
					}
					return cc.importKey(ctx, args[0], *name)
				case "delete":
					if len(args) != 1 {
						return usageErrorf("channel delete takes one NAME")
					}
					return cc.delete(ctx, args[0], *del)
				}
				return usageErrorf("unknown channel subcommand %q", sub)
			}
		},
	}
}

type channelCLI struct {
	c    *cli
	cl   *client
	json bool
}

func channelPath(name string) string { return "/channels/" + url.PathEscape(name) }

// show prints a channel: its JSON, or the line given.
func (cc channelCLI) show(ch channel.Channel, line string) error {
	if cc.json {
		return writeJSON(cc.c.stdout, ch)
	}
	fmt.Fprintln(cc.c.stdout, line)
	return nil
}

func (cc channelCLI) create(ctx context.Context, name, salt string) error {
	var ch channel.Channel
	if err := cc.cl.do(ctx, http.MethodPost, "/channels", map[string]string{"name": name, "salt": salt}, &ch); err != nil {
		return err
	}
	return cc.show(ch, fmt.Sprintf("created channel %s\nlink: %s\nadd files with: hearth channel add %s PATH...", oneLine(ch.Name), ch.Link, shellQuote(ch.Name)))
}

func (cc channelCLI) add(ctx context.Context, name string, paths []string) error {
	abs := make([]string, len(paths))
	for i, p := range paths {
		a, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		abs[i] = a
	}
	var res struct {
		Added   []string        `json:"added"`
		Channel channel.Channel `json:"channel"`
	}
	if err := cc.cl.do(ctx, http.MethodPost, channelPath(name)+"/items", map[string]any{"paths": abs}, &res); err != nil {
		return err
	}
	if cc.json {
		return writeJSON(cc.c.stdout, res)
	}
	for _, a := range res.Added {
		fmt.Fprintf(cc.c.stdout, "added %s\n", oneLine(a))
	}
	fmt.Fprintln(cc.c.stdout, publishNote(res.Channel))
	return nil
}

// publishNote says when the change goes out.
func publishNote(ch channel.Channel) string {
	if !ch.NextPublish.IsZero() {
		return fmt.Sprintf("the channel publishes itself at %s (or now: hearth channel publish %s)", ch.NextPublish.Local().Format("15:04:05"), shellQuote(ch.Name))
	}
	return fmt.Sprintf("publish it with: hearth channel publish %s", shellQuote(ch.Name))
}

func (cc channelCLI) rm(ctx context.Context, name string, items []string) error {
	var ch channel.Channel
	err := cc.c.forEachRef(ctx, items, func(item string) error {
		if err := cc.cl.do(ctx, http.MethodDelete, channelPath(name)+"/items/"+escapeItem(item), nil, &ch); err != nil {
			return err
		}
		if !cc.json {
			fmt.Fprintf(cc.c.stdout, "removed %s\n", oneLine(item))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if cc.json {
		return writeJSON(cc.c.stdout, ch)
	}
	fmt.Fprintln(cc.c.stdout, publishNote(ch))
	return nil
}

// escapeItem escapes each segment of an item path, keeping the slashes.
func escapeItem(item string) string {
	parts := strings.Split(strings.Trim(filepath.ToSlash(item), "/"), "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

func (cc channelCLI) publish(ctx context.Context, name string) error {
	var ch channel.Channel
	if err := cc.cl.do(ctx, http.MethodPost, channelPath(name)+"/publish", nil, &ch); err != nil {
		return err
	}
	return cc.show(ch, fmt.Sprintf("published %s version %d: %d files, %s", oneLine(ch.Name), ch.Version, ch.Items, humanSize(ch.Bytes)))
}

func (cc channelCLI) link(ctx context.Context, name string) error {
	var res struct {
		Name string `json:"name"`
		Link string `json:"link"`
	}
	if err := cc.cl.do(ctx, http.MethodGet, channelPath(name)+"/link", nil, &res); err != nil {
		return err
	}
	if cc.json {
		return writeJSON(cc.c.stdout, res)
	}
	fmt.Fprintln(cc.c.stdout, res.Link)
	return nil
}

func (cc channelCLI) list(ctx context.Context) error {
	var l struct {
		Channels []channel.Channel `json:"channels"`
	}
	if err := cc.cl.do(ctx, http.MethodGet, "/channels", nil, &l); err != nil {
		return err
	}
	if cc.json {
		return writeJSON(cc.c.stdout, l)
	}
	if len(l.Channels) == 0 {
		fmt.Fprintln(cc.c.stdout, `no channels (make one with "hearth channel create NAME")`)
		return nil
	}
	var rows [][]string
	for _, ch := range l.Channels {
		state := "published"
		switch {
		case ch.Error != "":
			state = "error: " + ch.Error
		case ch.Version == 0:
			state = "not published"
		case ch.Changed:
			state = "changed"
		}
		rows = append(rows, []string{strconv.FormatInt(ch.Version, 10), strconv.Itoa(ch.Items), humanSize(ch.Bytes), state, oneLine(ch.Name)})
	}
	fmt.Fprint(cc.c.stdout, table([]string{"VERSION", "ITEMS", "SIZE", "STATE", "NAME"}, rows, []bool{true, true, true, false, false}, termWidth(cc.c.stdout)))
	return nil
}

func (cc channelCLI) items(ctx context.Context, name string) error {
	var l struct {
		Items []channel.ItemInfo `json:"items"`
	}
	if err := cc.cl.do(ctx, http.MethodGet, channelPath(name)+"/items", nil, &l); err != nil {
		return err
	}
	if cc.json {
		return writeJSON(cc.c.stdout, l)
	}
	if len(l.Items) == 0 {
		fmt.Fprintf(cc.c.stdout, "channel %s is empty (add files with \"hearth channel add\")\n", oneLine(name))
		return nil
	}
	var rows [][]string
	for _, it := range l.Items {
		rows = append(rows, []string{humanSize(it.Size), oneLine(it.Path)})
	}
	fmt.Fprint(cc.c.stdout, table([]string{"SIZE", "PATH"}, rows, []bool{true, false}, termWidth(cc.c.stdout)))
	return nil
}

func (cc channelCLI) exportKey(ctx context.Context, name, out string) error {
	var raw json.RawMessage
	if err := cc.cl.do(ctx, http.MethodPost, channelPath(name)+"/export-key", nil, &raw); err != nil {
		return err
	}
	if out == "" || out == "-" {
		return writeJSON(cc.c.stdout, raw)
	}
	// O_EXCL: never overwrite a file, least of all another channel's key.
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write key backup: %w", err)
	}
	if err := writeJSON(f, raw); err != nil {
		f.Close()
		return fmt.Errorf("write key backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write key backup: %w", err)
	}
	fmt.Fprintf(cc.c.stdout, "wrote the key of %s to %s: keep it private, whoever has it can publish as the channel\n", oneLine(name), out)
	return nil
}

func (cc channelCLI) importKey(ctx context.Context, file, name string) error {
	var (
		b   []byte
		err error
	)
	if file == "-" {
		b, err = io.ReadAll(io.LimitReader(cc.c.stdin, 64<<10))
	} else {
		b, err = os.ReadFile(file)
	}
	if err != nil {
		return fmt.Errorf("read key backup: %w", err)
	}
	if !json.Valid(b) {
		return errors.New("the key backup is not JSON (it is what \"hearth channel export-key\" wrote)")
	}
	var ch channel.Channel
	if err := cc.cl.do(ctx, http.MethodPost, "/channels/import", map[string]any{"name": name, "backup": json.RawMessage(b)}, &ch); err != nil {
		return err
	}
	return cc.show(ch, fmt.Sprintf("imported channel %s (last version %d)\nlink: %s", oneLine(ch.Name), ch.Version, ch.Link))
}

func (cc channelCLI) delete(ctx context.Context, name string, del bool) error {
	var ch channel.Channel
	if err := cc.cl.do(ctx, http.MethodDelete, channelPath(name)+"?delete_data="+strconv.FormatBool(del), nil, &ch); err != nil {
		return err
	}
	return cc.show(ch, fmt.Sprintf("deleted channel %s; subscribers keep what they have", oneLine(ch.Name)))
}

// shellQuote quotes s for a shell command line shown to the user.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func cmdSubscribe() *command {
	return &command{
		name:  "subscribe",
		args:  "[flags] LINK | --invite FILE",
		short: "follow a channel: get its files and every new version",
		long: `
Subscribe to a channel from its link (magnet:?xs=urn:btpk:…, from "hearth
channel link" on the publishing device). The daemon looks the channel up in
the DHT (and on the LAN), downloads its current version into a folder named
after it in the download folder (or --dir), and keeps checking for new
versions: files that did not change are never downloaded again.

Files the publisher removes are kept unless --keep-removed=false. With
--wait, wait until the first version is here. "hearth add LINK" does the
same as "hearth subscribe LINK".`,
		example: `
hearth subscribe 'magnet:?xs=urn:btpk:8543d3e6…&dn=Family+photos'
hearth subscribe "$LINK" --dir /srv/media/family --wait
hearth subscribe "$LINK" --keep-removed=false`,
		setup: func(fs *flag.FlagSet, c *cli) func(context.Context, []string) error {
			api := apiFlag(fs)
			dir := fs.String("dir", "", "put the channel's files in `DIR` (absolute, or relative to the current folder)")
			keep := fs.Bool("keep-removed", true, "keep files the publisher removes")
			wait := fs.Bool("wait", false, "wait until the first version is downloaded")
			asJSON := fs.Bool("json", false, "print the subscription as JSON")
			invite := fs.String("invite", "", "subscribe from an invite `FILE` (.hearth, from a share page) instead of a link")
			return func(ctx context.Context, args []string) error {
				if *invite != "" && len(args) == 0 {
					link, err := readInvite(*invite)
					if err != nil {
						return err
					}
					args = []string{link}
				}
				if len(args) != 1 {
					return usageErrorf("subscribe takes one channel link, got %d arguments", len(args))
				}
				if !channel.IsLink(args[0]) {
					return usageErrorf("%s is not a channel link (magnet:?xs=urn:btpk:…)", strconv.Quote(truncate(args[0], 60)))
				}
				cl, err := newClient(*api)
				if err != nil {
					return err
				}
				var keepRemoved *bool
				if flagsSet(fs)["keep-removed"] {
					keepRemoved = keep
				}
				return c.subscribe(ctx, cl, args[0], *dir, keepRemoved, *wait, *asJSON)
			}
		},
	}
}

// subscribedResult is the answer of POST /subscriptions, and of POST
// /torrents with a channel link.
type subscribedResult struct {
	channel.Subscription
	Existed bool `json:"existed"`
}

// addChannelLink is "hearth add LINK" for a channel link. It goes through
// POST /torrents, like any magnet, so the daemon applies the same rules
// to it as to the API and the Transmission RPC (--dir and --peer apply,
// --paused and --files are refused).
func (c *cli) addChannelLink(ctx context.Context, cl *client, body addBody, wait, asJSON bool) error {
	var raw json.RawMessage
	if err := cl.do(ctx, http.MethodPost, "/torrents", body, &raw); err != nil {
		return err
	}
	res, ok := subscribedAnswer(raw)
	if !ok {
		return fmt.Errorf("the daemon did not answer with a subscription: %s", truncate(string(raw), 200))
	}
	return c.subscribed(ctx, cl, res, wait, asJSON)
}

func (c *cli) subscribe(ctx context.Context, cl *client, link, dir string, keepRemoved *bool, wait, asJSON bool) error {
	body := map[string]any{"link": link}
	if keepRemoved != nil {
		body["keepRemoved"] = *keepRemoved
	}
	if dir != "" {
		d, err := filepath.Abs(dir)
		if err != nil {
			return fmt.Errorf("--dir %s: %w", dir, err)
		}
		body["dir"] = d
	}
	var res subscribedResult
	if err := cl.do(ctx, http.MethodPost, "/subscriptions", body, &res); err != nil {
		return err
	}
	return c.subscribed(ctx, cl, res, wait, asJSON)
}

// subscribed prints a subscription just made (or found) and waits for its
// first version if asked to.
func (c *cli) subscribed(ctx context.Context, cl *client, res subscribedResult, wait, asJSON bool) error {
	if !asJSON {
		verb := "subscribed to"
		if res.Existed {
			verb = "already subscribed to"
		}
		fmt.Fprintf(c.stdout, "%s %s (id %s)\nfiles go to %s\n", verb, oneLine(res.Name), res.ID, res.Dir)
	}
	s := res.Subscription
	if wait {
		var err error
		if s, err = waitSubscription(ctx, c, cl, res.ID, asJSON); err != nil {
			return err
		}
	}
	if asJSON {
		return writeJSON(c.stdout, s)
	}
	return nil
}

// waitSubscription polls a subscription until a version is complete.
func waitSubscription(ctx context.Context, c *cli, cl *client, id string, quiet bool) (channel.Subscription, error) {
	last := ""
	for {
		var s channel.Subscription
		if err := cl.do(ctx, http.MethodGet, "/subscriptions/"+url.PathEscape(id), nil, &s); err != nil {
			return s, err
		}
		if s.State == channel.StateSynced {
			if !quiet {
				fmt.Fprintf(c.stdout, "version %d: %d files, %s\n", s.Version, s.Items, humanSize(s.Bytes))
			}
			return s, nil
		}
		if line := subscriptionState(s); line != last && !quiet {
			fmt.Fprintln(c.stderr, line)
			last = line
		}
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func subscriptionState(s channel.Subscription) string {
	switch s.State {
	case channel.StateDownloading:
		return fmt.Sprintf("downloading version %d: %s of %s", s.Version, humanSize(s.Done), humanSize(s.Bytes))
	case channel.StateError:
		return "error: " + oneLine(s.Error)
	case channel.StateSynced:
		return "up to date"
	}
	return s.State
}

func cmdUnsubscribe() *command {
	return &command{
		name:  "unsubscribe",
		args:  "[--delete-data] REF...",
		short: "stop following channels",
		long: `
Stop following channels, given by id, name or link (see "hearth
subscriptions"). Their files stay unless --delete-data; files kept after the
publisher removed them stay in any case.`,
		example: `
hearth unsubscribe "Family photos"
hearth unsubscribe 7f1b7694fe38143545ec80ce34aa634d0e7fb57a --delete-data`,
		setup: func(fs *flag.FlagSet, c *cli) func(context.Context, []string) error {
			api := apiFlag(fs)
			del := fs.Bool("delete-data", false, "also delete the channel's files")
			return func(ctx context.Context, args []string) error {
				if len(args) == 0 {
					return usageErrorf("unsubscribe from which channel? give its id, name or link")
				}
				cl, err := newClient(*api)
				if err != nil {
					return err
				}
				return c.forEachRef(ctx, args, func(ref string) error {
					var s channel.Subscription
					if err := cl.do(ctx, http.MethodDelete, "/subscriptions/"+url.PathEscape(ref)+"?delete_data="+strconv.FormatBool(*del), nil, &s); err != nil {
						return err
					}
					fmt.Fprintf(c.stdout, "unsubscribed from %s\n", oneLine(s.Name))
					return nil
				})
			}
		},
	}
}

func cmdSubscriptions() *command {
	return &command{
		name:  "subscriptions",
		args:  "[flags] [REF]",
		short: "show the channels this device follows",
		long: `
List the channels this device follows: version, files, size, state and how
many files arrived since you last looked. With a REF (id, name or link),
show that subscription in detail; --seen marks its new files as seen,
--check looks for a new version now.`,
		example: `
hearth subscriptions
hearth subscriptions "Family photos" --seen
hearth subscriptions --json`,
		setup: func(fs *flag.FlagSet, c *cli) func(context.Context, []string) error {
			api := apiFlag(fs)
			asJSON := fs.Bool("json", false, "print the API's JSON")
			seen := fs.Bool("seen", false, "mark the subscription's new files as seen")
			check := fs.Bool("check", false, "look for a new version now")
			return func(ctx context.Context, args []string) error {
				if len(args) > 1 {
					return usageErrorf("subscriptions takes at most one REF")
				}
				if (*seen || *check) && len(args) == 0 {
					return usageErrorf("--seen and --check need a subscription REF")
				}
				cl, err := newClient(*api)
				if err != nil {
					return err
				}
				if len(args) == 0 {
					var l struct {
						Subscriptions []channel.Subscription `json:"subscriptions"`
					}
					if err := cl.do(ctx, http.MethodGet, "/subscriptions", nil, &l); err != nil {
						return err
					}
					if *asJSON {
						return writeJSON(c.stdout, l)
					}
					fmt.Fprint(c.stdout, subscriptionsTable(l.Subscriptions, termWidth(c.stdout)))
					return nil
				}
				path := "/subscriptions/" + url.PathEscape(args[0])
				method := http.MethodGet
				switch {
				case *seen && *check:
					return usageErrorf("give --seen or --check, not both")
				case *seen:
					path, method = path+"/seen", http.MethodPost
				case *check:
					path, method = path+"/check", http.MethodPost
				}
				var s channel.Subscription
				if err := cl.do(ctx, method, path, nil, &s); err != nil {
					return err
				}
				if *asJSON {
					return writeJSON(c.stdout, s)
				}
				fmt.Fprint(c.stdout, subscriptionText(s))
				return nil
			}
		},
	}
}

func subscriptionsTable(list []channel.Subscription, width int) string {
	if len(list) == 0 {
		return "no subscriptions (follow a channel with \"hearth subscribe LINK\")\n"
	}
	var rows [][]string
	for _, s := range list {
		newItems := ""
		if s.NewItems > 0 {
			newItems = strconv.Itoa(s.NewItems)
		}
		rows = append(rows, []string{strconv.FormatInt(s.Version, 10), strconv.Itoa(s.Items), humanSize(s.Bytes), s.State, newItems, oneLine(s.Name)})
	}
	return table([]string{"VERSION", "ITEMS", "SIZE", "STATE", "NEW", "NAME"}, rows, []bool{true, true, true, false, true, false}, width)
}

func subscriptionText(s channel.Subscription) string {
	var b strings.Builder
	kv := func(k, v string) { fmt.Fprintf(&b, "%-13s %s\n", k+":", v) }
	kv("Name", oneLine(s.Name))
	kv("ID", s.ID)
	kv("Link", s.Link)
	kv("Folder", s.Dir)
	kv("State", subscriptionState(s))
	ver := strconv.FormatInt(s.Version, 10)
	if s.Latest > s.Version {
		ver += fmt.Sprintf(" (version %d on its way)", s.Latest)
	}
	kv("Version", ver)
	kv("Items", fmt.Sprintf("%d files, %s", s.Items, humanSize(s.Bytes)))
	kv("New", fmt.Sprintf("%d since you last looked", s.NewItems))
	for _, p := range s.NewPaths {
		fmt.Fprintf(&b, "%-13s %s\n", "", oneLine(p))
	}
	kv("Removed", map[bool]string{true: "kept here", false: "deleted here"}[s.KeepRemoved])
	if !s.CheckedAt.IsZero() {
		kv("Checked", timeText(s.CheckedAt))
	}
	if !s.UpdatedAt.IsZero() {
		kv("Updated", timeText(s.UpdatedAt))
	}
	if s.LastReject != "" {
		kv("Last refused", oneLine(s.LastReject))
	}
	return b.String()
}
