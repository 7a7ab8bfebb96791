package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

func cmdPasswd() *command {
	return &command{
		name:  "passwd",
		args:  "[--stdin | --off] [USER]",
		short: "set the password LAN callers and Transmission remotes log in with",
		long: `
Set the owner's user name and password. Callers on this device need none;
callers from the LAN (phones, PCs, Transmission remote apps) log in with them
(HTTP Basic), unless they paired and use a token instead ("hearth pair").

USER defaults to the current user name, or "admin" when none is set. The
password (at least 8 characters) is asked twice without echo on a terminal,
or read from the first line of standard input with --stdin. It is stored as
a salted Argon2id hash, never in the clear.

--off removes the password: LAN callers then need a paired token.

Run it on the device itself, or log in from elsewhere with --user.`,
		example: `
hearth passwd
hearth passwd owner
printf '%s\n' "$NEW_PASSWORD" | hearth passwd --stdin
hearth passwd --off`,
		setup: func(fs *flag.FlagSet, c *cli) func(context.Context, []string) error {
			api := apiFlag(fs)
			fromStdin := fs.Bool("stdin", false, "read the new password from the first line of standard input")
			off := fs.Bool("off", false, "remove the password (LAN callers then need pairing)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 1 {
					return usageErrorf("passwd takes at most one user name, got %d arguments", len(args))
				}
				if *off && (*fromStdin || len(args) > 0) {
					return usageErrorf("--off takes no user name and no --stdin")
				}
				cl, err := newClient(*api)
				if err != nil {
					return err
				}
				if *off {
					if err := cl.do(ctx, http.MethodDelete, "/password", nil, nil); err != nil {
						return err
					}
					fmt.Fprintln(c.stdout, "password removed: LAN callers now need a paired token (hearth pair)")
					return nil
				}
				user := ""
				if len(args) == 1 {
					user = args[0]
				} else {
					var st struct {
						User string `json:"user"`
					}
					var ae *apiError
					err := cl.do(ctx, http.MethodGet, "/access", nil, &st)
					// 401: loopback is not trusted; the first password may
					// still be set from here (the PUT says).
					if err != nil && !(errors.As(err, &ae) && ae.status == http.StatusUnauthorized) {
						return err
					}
					user = st.User
					if user == "" {
						user = "admin"
					}
				}
				pass, err := c.newPassword(user, *fromStdin)
				if err != nil {
					return err
				}
				body := map[string]string{"user": user, "password": pass}
				if err := cl.do(ctx, http.MethodPut, "/password", body, nil); err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "password set for user %s: LAN callers and Transmission remotes log in with it\n", user)
				return nil
			}
		},
	}
}

// newPassword reads the new password: the first line of stdin with
// --stdin, else twice without echo on the terminal stdin is.
func (c *cli) newPassword(user string, fromStdin bool) (string, error) {
	if fromStdin {
		p, err := readLine(c.stdin)
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read the password from standard input: %w", err)
		}
		if p == "" {
			return "", errors.New("standard input is empty: give the password on its first line")
		}
		return p, nil
	}
	f, ok := c.stdin.(*os.File)
	if !ok || !isTerminal(f) {
		return "", usageErrorf("standard input is not a terminal: pipe the password in with --stdin")
	}
	p1, err := readSecretFrom(f, fmt.Sprintf("New password for %s: ", user))
	if err != nil {
		return "", err
	}
	p2, err := readSecretFrom(f, "Again: ")
	if err != nil {
		return "", err
	}
	if p1 != p2 {
		return "", errors.New("the two passwords differ; nothing changed")
	}
	return p1, nil
}

// readLine reads one line (without its "\n" or "\r\n") a byte at a time,
// so nothing after it is consumed.
func readLine(r io.Reader) (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for {
		n, err := r.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				return strings.TrimSuffix(b.String(), "\r"), nil
			}
			if b.Len() > 4096 {
				return "", errors.New("line longer than 4096 bytes")
			}
			b.WriteByte(buf[0])
		}
		if err != nil {
			if errors.Is(err, io.EOF) && b.Len() > 0 {
				return strings.TrimSuffix(b.String(), "\r"), nil
			}
			return b.String(), err
		}
	}
}
