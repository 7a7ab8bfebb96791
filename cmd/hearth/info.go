package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
)

func cmdInfo() *command {
	return &command{
		name:  "info",
		args:  "[--json] REF",
		short: "show one torrent in detail, with its files",
		long: `
Show everything about one torrent: state and error, progress, sizes and
pieces, folder, transfer totals and ratio, peers, queue position, limits,
dates, magnet link, and its files with their index (what "hearth add --files"
and "hearth set --want/--skip/--priority" take), progress, priority and
whether they are wanted.

REF is the torrent's ID (see "hearth ls") or its infohash.`,
		example: `
hearth info 3
hearth info 0123456789abcdef0123456789abcdef01234567 --json`,
		setup: func(fs *flag.FlagSet, c *cli) func(context.Context, []string) error {
			api := apiFlag(fs)
			asJSON := fs.Bool("json", false, "print the API's JSON")
			return func(ctx context.Context, args []string) error {
				if len(args) != 1 {
					return usageErrorf("info takes one torrent ID or infohash, got %d arguments", len(args))
				}
				cl, err := newClient(*api)
				if err != nil {
					return err
				}
				if *asJSON {
					var raw json.RawMessage
					if err := cl.do(ctx, http.MethodGet, torrentPath(args[0]), nil, &raw); err != nil {
						return err
					}
					return writeJSON(c.stdout, raw)
				}
				t, err := cl.get(ctx, args[0])
				if err != nil {
					return err
				}
				fmt.Fprint(c.stdout, infoText(t))
				if len(t.Files) > 0 {
					fmt.Fprintln(c.stdout)
					fmt.Fprint(c.stdout, filesTable(t.Files, termWidth(c.stdout)))
				}
				return nil
			}
		},
	}
}
