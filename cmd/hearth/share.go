package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hearth-media/hearth/engine/share"
	"github.com/hearth-media/hearth/web"
	"github.com/hearth-media/hearth/web/qr"
	"github.com/hearth-media/hearth/web/sharemail"
)

func cmdShare() *command {
	return &command{
		name:  "share",
		args:  "create|ls|qr|email|revoke [flags] …",
		short: "share a channel or torrent with anyone through a web link",
		long: `
Share photos, videos and other files with people who have no client: the
link opens a page served by the device where they can look at the photos,
play the videos, download single files or everything as a zip, and get an
invite that subscribes a Hearth install to the channel.

  create (--channel NAME | --torrent ID [--file PATH]...)
                          make a share and print its link (--expires 7d,
                          --max-downloads N, --label L, --note TEXT)
  ls                      list shares with their status and links
  revoke ID               turn a share's link off (it then answers "ended")
  email ID --to ADDR...   the message about the share (text and HTML, the
                          link, a few thumbnails and the QR code): the
                          daemon sends it through its mail server (config
                          section [share], key smtp); with none, or with
                          --out FILE, it is written to an .eml file
                          (default share-ID.eml) for any mail program and a
                          mailto: link is printed; --smtp HOST:PORT --from
                          ADDR sends it from here instead (STARTTLS)
  qr ID                   print the link as a QR code for a phone to scan
                          (--png FILE writes a PNG instead; --link N picks
                          another of the links "share ls --json" shows)

The link uses the device's LAN address and its .local name: it works inside
the home network. With share.outside = true in the daemon's config the
device asks the home router (NAT-PMP or UPnP-IGD) to forward a port that
serves share pages only, and create prints an outside link that works
from anywhere.
--file takes a path as "hearth info ID" shows it below the torrent's folder.
A download is a file fetched with its download link or one "download all"
zip; --max-downloads counts those. See docs/share.md.`,
		example: `
hearth share create --channel "Family photos" --expires 7d --note "Summer 2026!"
hearth share create --torrent 3 --file DCIM/IMG_0042.jpg --file DCIM/clip.mp4
hearth share ls
hearth share qr 5f2c9a0e1b3d4c6f
hearth share email 5f2c9a0e1b3d4c6f --to kid@example.org --to gran@example.org
hearth share revoke 5f2c9a0e1b3d4c6f`,
		setup: func(fs *flag.FlagSet, c *cli) func(context.Context, []string) error {
			api := apiFlag(fs)
			asJSON := fs.Bool("json", false, "print the API's JSON")
			ch := fs.String("channel", "", "create: share the channel `NAME`")
			tor := fs.Int64("torrent", 0, "create: share the torrent `ID`")
			var files stringList
			fs.Var(&files, "file", "create: share only this `PATH` of the torrent (repeatable)")
			expires := fs.String("expires", "", "create: the link ends after `DURATION` (7d, 12h)")
			maxDL := fs.Int("max-downloads", 0, "create: the link ends after `N` downloads")
			label := fs.String("label", "", "create: the page's title (default: the channel's or torrent's name)")
			note := fs.String("note", "", "create: a note shown on the page")
			pngOut := fs.String("png", "", "qr: write a PNG to `FILE` instead of printing")
			linkN := fs.Int("link", 0, "qr, email: use link `N` of the share (0 = the first)")
			var to stringList
			fs.Var(&to, "to", "email: a recipient's `ADDRESS` (repeatable)")
			emlOut := fs.String("out", "", "email: write the message to `FILE` instead of sending it (default share-ID.eml when the daemon has no mail server)")
			smtpAddr := fs.String("smtp", "", "email: send from here through the SMTP server at `HOST:PORT` instead of the daemon's (STARTTLS; $HEARTH_SMTP_USER and $HEARTH_SMTP_PASSWORD log in)")
			from := fs.String("from", "", "email: the sender's `ADDRESS` (needed with --smtp; the daemon sends as its share.smtp_from)")
			return func(ctx context.Context, args []string) error {
				if len(args) == 0 {
					return usageErrorf("share needs a subcommand: create, ls, qr, email or revoke")
				}
				sub, args := args[0], args[1:]
				set := flagsSet(fs)
				for _, f := range []string{"channel", "torrent", "file", "expires", "max-downloads", "label", "note"} {
					if set[f] && sub != "create" {
						return usageErrorf("--%s goes with \"share create\" only", f)
					}
				}
				if set["png"] && sub != "qr" {
					return usageErrorf("--png goes with \"share qr\" only")
				}
				if set["link"] && sub != "qr" && sub != "email" {
					return usageErrorf("--link goes with \"share qr\" and \"share email\" only")
				}
				if (set["to"] || set["out"] || set["smtp"] || set["from"]) && sub != "email" {
					return usageErrorf("--to, --out, --smtp and --from go with \"share email\" only")
				}
				cl, err := newClient(*api)
				if err != nil {
					return err
				}
				switch sub {
				case "create":
					if len(args) != 0 {
						return usageErrorf("share create takes flags only, got %q", args[0])
					}
					if (*ch == "") == (*tor == 0) {
						return usageErrorf("share create needs --channel NAME or --torrent ID")
					}
					if len(files) > 0 && *tor == 0 {
						return usageErrorf("--file goes with --torrent")
					}
					req := share.CreateRequest{Channel: *ch, TorrentID: *tor, Files: files, Label: *label, Note: *note, MaxDownloads: *maxDL}
					if *expires != "" {
						d, err := share.ParseDuration(*expires)
						if err != nil || d <= 0 {
							return usageErrorf("--expires %q: want a duration like 7d or 12h", *expires)
						}
						req.ExpiresIn = d
					}
					var info web.ShareInfo
					if err := cl.do(ctx, http.MethodPost, "/shares", req, &info); err != nil {
						return err
					}
					if *asJSON {
						return writeJSON(c.stdout, info)
					}
					printShareCreated(c, info)
					return nil
				case "ls":
					if len(args) != 0 {
						return usageErrorf("share ls takes no arguments")
					}
					var res struct {
						Shares []web.ShareInfo `json:"shares"`
					}
					if err := cl.do(ctx, http.MethodGet, "/shares", nil, &res); err != nil {
						return err
					}
					if *asJSON {
						return writeJSON(c.stdout, res)
					}
					printShares(c, res.Shares)
					return nil
				case "revoke":
					if len(args) != 1 {
						return usageErrorf("share revoke takes one ID")
					}
					var info web.ShareInfo
					if err := cl.do(ctx, http.MethodDelete, "/shares/"+url.PathEscape(args[0]), nil, &info); err != nil {
						return err
					}
					if *asJSON {
						return writeJSON(c.stdout, info)
					}
					fmt.Fprintf(c.stdout, "revoked share %s: its link now says the share has ended\n", info.ID)
					return nil
				case "qr":
					if len(args) != 1 {
						return usageErrorf("share qr takes one ID")
					}
					var info web.ShareInfo
					if err := cl.do(ctx, http.MethodGet, "/shares/"+url.PathEscape(args[0]), nil, &info); err != nil {
						return err
					}
					if *linkN < 0 || *linkN >= len(info.Links) {
						return usageErrorf("--link %d: share %s has %d links", *linkN, info.ID, len(info.Links))
					}
					link := info.Links[*linkN].URL
					if *pngOut != "" {
						b, err := qr.PNG(link, 512)
						if err != nil {
							return err
						}
						if err := os.WriteFile(*pngOut, b, 0o644); err != nil {
							return fmt.Errorf("write QR code: %w", err)
						}
						fmt.Fprintf(c.stdout, "wrote %s: QR code of %s\n", *pngOut, link)
						return nil
					}
					art, err := qr.Terminal(link)
					if err != nil {
						return err
					}
					fmt.Fprintf(c.stdout, "%s%s\n", art, link)
					if info.Status != "active" {
						fmt.Fprintf(c.stdout, "note: this share is %s; the link says it has ended\n", info.Status)
					}
					return nil
				case "email":
					if len(args) != 1 || len(to) == 0 {
						return usageErrorf("share email takes one ID and at least one --to ADDRESS")
					}
					if *smtpAddr != "" && *from == "" {
						return usageErrorf("--smtp needs --from ADDRESS")
					}
					if *from != "" && *smtpAddr == "" && *emlOut == "" {
						return usageErrorf("--from goes with --smtp or --out: the daemon sends as its share.smtp_from")
					}
					if *smtpAddr == "" && *emlOut == "" {
						sent, err := shareEmailDaemon(ctx, c, cl, args[0], to, *linkN)
						if sent || err != nil {
							return err
						}
					}
					return shareEmail(ctx, c, cl, args[0], to, *linkN, *emlOut, *smtpAddr, *from)
				}
				return usageErrorf("unknown share subcommand %q: create, ls, qr, email or revoke", sub)
			}
		},
	}
}

func shareWhat(s web.ShareInfo) string {
	if s.Channel != "" {
		return "channel " + oneLine(s.Channel)
	}
	w := fmt.Sprintf("torrent %d", s.TorrentID)
	if len(s.Files) > 0 {
		w += fmt.Sprintf(" (%d files)", len(s.Files))
	}
	return w
}

func printShareCreated(c *cli, s web.ShareInfo) {
	fmt.Fprintf(c.stdout, "shared %s as share %s\n", shareWhat(s), s.ID)
	if len(s.Links) == 0 {
		fmt.Fprintln(c.stdout, "no LAN address found: the link is /s/"+s.Token+" on this device's address")
	}
	for i, l := range s.Links {
		kind := "LAN address"
		switch l.Kind {
		case "mdns":
			kind = ".local name (where mDNS names resolve)"
		case "outside":
			fmt.Fprintf(c.stdout, "outside link: %s\n", l.URL)
			continue
		}
		if i == 0 {
			fmt.Fprintf(c.stdout, "link: %s\n", l.URL)
			continue
		}
		fmt.Fprintf(c.stdout, "  or: %s  (%s)\n", l.URL, kind)
	}
	switch {
	case s.Outside:
		fmt.Fprintln(c.stdout, "The outside link works from anywhere (the router forwards a port to this device, for share pages only); the others inside the home network.")
	case s.OutsideNote != "":
		fmt.Fprintf(c.stdout, "No outside link: %s.\nThese links work inside the home network only.\n", s.OutsideNote)
	default:
		fmt.Fprintln(c.stdout, "These links work inside the home network only (share.outside = true asks the router for an outside link).")
	}
	var limits []string
	if !s.ExpiresAt.IsZero() {
		limits = append(limits, "until "+s.ExpiresAt.Local().Format("2006-01-02 15:04"))
	}
	if s.MaxDownloads > 0 {
		limits = append(limits, fmt.Sprintf("for %d downloads", s.MaxDownloads))
	}
	if len(limits) > 0 {
		fmt.Fprintf(c.stdout, "It works %s.\n", strings.Join(limits, " and "))
	}
	fmt.Fprintf(c.stdout, "Revoke it with: hearth share revoke %s\n", s.ID)
}

func printShares(c *cli, list []web.ShareInfo) {
	if len(list) == 0 {
		fmt.Fprintln(c.stdout, "no shares (make one with: hearth share create --channel NAME)")
		return
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tWHAT\tLABEL\tDOWNLOADS\tEXPIRES\tLINK")
	for _, s := range list {
		exp := "never"
		if !s.ExpiresAt.IsZero() {
			exp = s.ExpiresAt.Local().Format(time.DateTime)
		}
		dl := fmt.Sprint(s.Downloads)
		if s.MaxDownloads > 0 {
			dl += fmt.Sprintf("/%d", s.MaxDownloads)
		}
		link := "-"
		if len(s.Links) > 0 {
			link = s.Links[0].URL
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Status, shareWhat(s), oneLine(s.Label), dl, exp, link)
	}
	tw.Flush()
}

// readInvite returns the channel link in an invite file (.hearth) that a
// share page hands out.
func readInvite(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read invite: %w", err)
	}
	var inv struct {
		Type    string `json:"type"`
		Version int    `json:"version"`
		Channel string `json:"channel"`
	}
	if err := json.Unmarshal(b, &inv); err != nil || inv.Type != "hearth-invite" || inv.Channel == "" {
		return "", usageErrorf("%s is not a Hearth invite", path)
	}
	if inv.Version != 1 {
		return "", usageErrorf("%s is an invite of version %d; this hearth reads version 1", path, inv.Version)
	}
	return inv.Channel, nil
}

// shareEmail writes the message about a share to an .eml file: the
// thumbnails come from the share's own page on the daemon (the first
// photos it has), the QR code is made here.
func shareEmail(ctx context.Context, c *cli, cl *client, id string, to []string, linkN int, out, smtpAddr, from string) error {
	var info web.ShareInfo
	if err := cl.do(ctx, http.MethodGet, "/shares/"+url.PathEscape(id), nil, &info); err != nil {
		return err
	}
	if info.Status != "active" {
		return fmt.Errorf("share %s is %s: its link no longer opens anything", info.ID, info.Status)
	}
	if linkN < 0 || linkN >= len(info.Links) {
		return usageErrorf("--link %d: share %s has %d links", linkN, info.ID, len(info.Links))
	}
	link := info.Links[linkN].URL
	var thumbs [][]byte
	for i := 0; i < 32 && len(thumbs) < 4; i++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/s/%s/t/%d", cl.base, info.Token, i), nil)
		if err != nil {
			return err
		}
		resp, err := cl.hc.Do(req)
		if err != nil {
			break
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err == nil && resp.StatusCode == http.StatusOK && resp.Header.Get("Content-Type") == "image/jpeg" {
			thumbs = append(thumbs, b)
		}
	}
	qrPNG, err := qr.PNG(link, 320)
	if err != nil {
		return err
	}
	title := info.Label
	if title == "" {
		title = info.Channel
	}
	if title == "" {
		title = fmt.Sprintf("torrent %d", info.TorrentID)
	}
	msg, err := sharemail.Build(sharemail.Message{From: from, To: to, Title: title, Note: info.Note, Link: link, Anywhere: info.Links[linkN].Kind == "outside", QR: qrPNG, Thumbs: thumbs})
	if err != nil {
		return usageErrorf("%v", err)
	}
	if smtpAddr != "" {
		srv := sharemail.SMTP{Addr: smtpAddr, User: getenv("HEARTH_SMTP_USER"), Password: getenv("HEARTH_SMTP_PASSWORD")}
		addr, _ := mail.ParseAddress(from)
		rcpts := make([]string, len(to))
		for i, t := range to {
			a, _ := mail.ParseAddress(t) // checked by Build
			rcpts[i] = a.Address
		}
		if err := srv.Send(ctx, addr.Address, rcpts, msg); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "sent to %s (%d thumbnails, QR code)\n", strings.Join(rcpts, ", "), len(thumbs))
		if out == "" {
			return nil
		}
	}
	if out == "" {
		out = "share-" + info.ID + ".eml"
	}
	if err := os.WriteFile(out, msg, 0o644); err != nil {
		return fmt.Errorf("write message: %w", err)
	}
	fmt.Fprintf(c.stdout, "wrote %s (%d thumbnails, QR code): open it with a mail program to send it\n", out, len(thumbs))
	fmt.Fprintf(c.stdout, "or send a plain message: %s\n", sharemail.Mailto(to, title, info.Note, link))
	return nil
}

// shareEmailDaemon asks the daemon to send the message through its mail
// server. sent is false, with no error, when the daemon has none: the
// caller then writes the .eml itself.
func shareEmailDaemon(ctx context.Context, c *cli, cl *client, id string, to []string, linkN int) (sent bool, err error) {
	var res web.ShareEmailResult
	err = cl.do(ctx, http.MethodPost, "/shares/"+url.PathEscape(id)+"/email", web.ShareEmailRequest{To: to, Link: linkN}, &res)
	var ae *apiError
	if errors.As(err, &ae) && ae.status == http.StatusNotImplemented {
		fmt.Fprintf(c.stderr, "note: the daemon has %s; writing the message to a file instead\n", ae.msg)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	fmt.Fprintf(c.stdout, "sent to %s from %s (%d thumbnails, QR code) with the link %s\n", strings.Join(res.Sent, ", "), res.From, res.Thumbnails, res.Link)
	return true, nil
}
