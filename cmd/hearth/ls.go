package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
)

func cmdLs() *command {
	return &command{
		name:  "ls",
		args:  "[--json]",
		short: "list torrents with progress, speed and state",
		long: `
List every torrent in queue order: its ID (what other commands take), the
share of wanted data verified, the wanted size, current download and upload
rates, time left while downloading, state and name. Sizes and rates are
decimal (1 kB = 1000 bytes). Names are cut to fit the terminal.

States: downloading, seeding, checking, metadata (asking peers for a magnet's
file list), queued and queued-seed (waiting for a slot: see "hearth set
--global --max-downloads"), stopped (paused, or its seeding limit was
reached) and error (see "hearth info ID").`,
		example: `
hearth ls
hearth ls --json | jq '.torrents[] | select(.state == "seeding") | .id'`,
		setup: func(fs *flag.FlagSet, c *cli) func(context.Context, []string) error {
			api := apiFlag(fs)
			asJSON := fs.Bool("json", false, "print the API's JSON ({\"torrents\": [...]})")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usageErrorf("ls takes no arguments, got %q", args[0])
				}
				cl, err := newClient(*api)
				if err != nil {
					return err
				}
				if *asJSON {
					var raw json.RawMessage
					if err := cl.do(ctx, http.MethodGet, "/torrents", nil, &raw); err != nil {
						return err
					}
					return writeJSON(c.stdout, raw)
				}
				list, err := cl.list(ctx)
				if err != nil {
					return err
				}
				if len(list) == 0 {
					fmt.Fprintln(c.stdout, "no torrents (add one with \"hearth add\")")
					return nil
				}
				fmt.Fprint(c.stdout, lsTable(list, termWidth(c.stdout)))
				return nil
			}
		},
	}
}
