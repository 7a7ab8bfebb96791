package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/hearth-media/hearth/web/access"
)

func cmdPair() *command {
	return &command{
		name:  "pair",
		args:  "[--approve ID | --deny ID | --open | --close | --request NAME]",
		short: "see and confirm pairing requests from phones and TVs",
		long: `
Phones, TVs and PCs on the LAN pair with the device instead of using its
password: the client asks, the device shows a 6-digit code, the owner gives
that code to the client (or approves the request here, or presses the
device's pairing button), and the client gets a token of its own that
"hearth devices" lists and can revoke.

Without flags, list the requests waiting, with their codes. --approve ID
and --deny ID answer one as the owner. --open does what the pairing button
does: the next device that asks within --for is accepted without a code.

--request NAME is the client side: ask the daemon at --api to pair this
computer, then type the code it shows (or wait for the owner to approve).
The token is printed once; use it as $HEARTH_TOKEN, or as the password
(any user name) in a Transmission remote app.`,
		example: `
hearth pair
hearth pair --approve k7m2qx
hearth pair --deny k7m2qx
hearth pair --open --for 2m
hearth pair --request "Anna's laptop" --api http://nas.local:9091`,
		setup: func(fs *flag.FlagSet, c *cli) func(context.Context, []string) error {
			api := apiFlag(fs)
			approve := fs.String("approve", "", "approve pending request `ID`")
			deny := fs.String("deny", "", "deny pending request `ID`")
			open := fs.Bool("open", false, "accept the next device that asks (like the pairing button)")
			closeW := fs.Bool("close", false, "close the pairing window --open opened")
			dur := fs.Duration("for", access.ButtonWindow, "how long --open waits for a device")
			request := fs.String("request", "", "ask to pair this computer, calling it `NAME`")
			code := fs.String("code", "", "with --request: the 6-digit `CODE` the device shows (else asked for)")
			wait := fs.Duration("wait", access.PairTTL, "with --request: how long to wait for the code or approval")
			asJSON := fs.Bool("json", false, "print the API's JSON")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usageErrorf("pair takes no arguments, got %q (IDs go after --approve or --deny)", args[0])
				}
				n := 0
				for _, set := range []bool{*approve != "", *deny != "", *open, *closeW, *request != ""} {
					if set {
						n++
					}
				}
				if n > 1 {
					return usageErrorf("give one of --approve, --deny, --open, --close, --request")
				}
				if *code != "" && *request == "" {
					return usageErrorf("--code goes with --request")
				}
				cl, err := newClient(*api)
				if err != nil {
					return err
				}
				switch {
				case *request != "":
					return c.pairRequest(ctx, cl, *request, *code, *wait, *asJSON)
				case *approve != "" || *deny != "":
					method, id, verb := http.MethodPost, *approve, "approved"
					path := "/pair/" + url.PathEscape(id) + "/approve"
					if *deny != "" {
						method, id, verb = http.MethodDelete, *deny, "denied"
						path = "/pair/" + url.PathEscape(id)
					}
					var p access.PairRequest
					if err := cl.do(ctx, method, path, nil, &p); err != nil {
						return err
					}
					if *asJSON {
						return writeJSON(c.stdout, p)
					}
					fmt.Fprintf(c.stdout, "%s pairing request %s from %q (%s)\n", verb, p.ID, oneLine(p.Name), p.Addr)
					return nil
				case *open || *closeW:
					var l pairListing
					var err error
					if *open {
						if *dur < time.Second {
							return usageErrorf("--for %s: want at least 1s", *dur)
						}
						err = cl.do(ctx, http.MethodPut, "/pair/window", map[string]int{"seconds": int(dur.Seconds())}, &l)
					} else {
						err = cl.do(ctx, http.MethodDelete, "/pair/window", nil, &l)
					}
					if err != nil {
						return err
					}
					if *asJSON {
						return writeJSON(c.stdout, l)
					}
					switch {
					case !l.WindowUntil.IsZero():
						fmt.Fprintf(c.stdout, "pairing open until %s: the next device that asks is accepted\n", l.WindowUntil.Local().Format("15:04:05"))
					case *open:
						fmt.Fprintln(c.stdout, "pairing window closed again: the one waiting request was approved, or several wait and none was (use the codes)")
					default:
						fmt.Fprintln(c.stdout, "pairing window closed")
					}
					return nil
				}
				var l pairListing
				if *asJSON {
					var raw json.RawMessage
					if err := cl.do(ctx, http.MethodGet, "/pair", nil, &raw); err != nil {
						return err
					}
					return writeJSON(c.stdout, raw)
				}
				if err := cl.do(ctx, http.MethodGet, "/pair", nil, &l); err != nil {
					return err
				}
				fmt.Fprint(c.stdout, pairText(l, time.Now(), termWidth(c.stdout)))
				return nil
			}
		},
	}
}

// pairListing is GET /api/v1/pair.
type pairListing struct {
	Pairing     bool                 `json:"pairing"`
	WindowUntil time.Time            `json:"windowUntil,omitzero"`
	Requests    []access.PairRequest `json:"requests"`
}

func pairText(l pairListing, now time.Time, width int) string {
	var head string
	if !l.Pairing {
		head = "pairing is off (access.pairing = false)\n"
	} else if !l.WindowUntil.IsZero() {
		head = fmt.Sprintf("pairing window open until %s\n", l.WindowUntil.Local().Format("15:04:05"))
	}
	if len(l.Requests) == 0 {
		return head + "no pairing requests waiting\n"
	}
	var rows [][]string
	for _, p := range l.Requests {
		code := p.Code
		if p.Approved {
			code = "approved"
		}
		rows = append(rows, []string{p.ID, code, humanDuration(p.Expires.Sub(now).Round(time.Second)), p.Addr, oneLine(p.Name)})
	}
	return head + table([]string{"ID", "CODE", "EXPIRES IN", "FROM", "NAME"}, rows, []bool{false, false, true, false, false}, width)
}

// pairRequest is the client side of pairing.
func (c *cli) pairRequest(ctx context.Context, cl *client, name, code string, wait time.Duration, asJSON bool) error {
	var tk access.PairTicket
	if err := cl.do(ctx, http.MethodPost, "/pair", map[string]string{"name": name}, &tk); err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "pairing request %s sent to %s.\n", tk.ID, cl.base)
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	codes := make(chan string, 1)
	if code != "" {
		codes <- code
	} else if f, ok := c.stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprintf(c.stderr, "Type the 6-digit code the device shows (\"hearth pair\" on it, its log or screen),\nor have the owner approve request %s: ", tk.ID)
		go func() {
			if l, err := readLine(f); err == nil {
				codes <- l
			}
		}()
	} else {
		fmt.Fprintf(c.stderr, "waiting for the owner to approve request %s (\"hearth pair --approve %s\" on the device, or its button)\n", tk.ID, tk.ID)
	}
	path := "/pair/" + url.PathEscape(tk.ID)
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		body := map[string]string{"secret": tk.Secret}
		select {
		case code = <-codes:
			body["code"] = code
		case <-tick.C:
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("pairing request %s: no code or approval within %s", tk.ID, wait)
			}
			return ctx.Err()
		}
		var raw json.RawMessage
		err := cl.do(ctx, http.MethodPost, path, body, &raw)
		var ae *apiError
		if errors.As(err, &ae) && ae.status == http.StatusForbidden && body["code"] != "" {
			// A wrong code: say so and let the user try again.
			fmt.Fprintf(c.stderr, "%s; type the code again: ", ae.msg)
			if f, ok := c.stdin.(*os.File); ok && isTerminal(f) {
				go func() {
					if l, err := readLine(f); err == nil {
						codes <- l
					}
				}()
				continue
			}
			return err
		}
		if err != nil {
			return err
		}
		var p struct {
			Status string        `json:"status"`
			Token  string        `json:"token"`
			Device access.Device `json:"device"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("unexpected answer from %s: %v", cl.base, err)
		}
		if p.Token == "" {
			continue // still pending
		}
		if asJSON {
			return writeJSON(c.stdout, raw)
		}
		fmt.Fprintf(c.stderr, "paired as device %s (%s). The token is shown only this once; keep it secret.\n"+
			"Use it as $HEARTH_TOKEN, or as the password (any user name) in a Transmission remote:\n", p.Device.ID, oneLine(p.Device.Name))
		fmt.Fprintln(c.stdout, p.Token)
		return nil
	}
}
