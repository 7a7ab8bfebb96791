package main

import (
	"context"
	"flag"
)

func cmdResume() *command {
	return &command{
		name:  "resume",
		args:  "[flags] REF... | --all",
		short: "put stopped torrents back in the queue",
		long: `
Resume stopped torrents: they go back in the queue and run when a download
or seeding slot is free. A torrent stopped by an error (a full disk) is tried
again. With --now they start at once, whatever the queue limits.
REF is a torrent ID (see "hearth ls") or infohash.`,
		example: `
hearth resume 3
hearth resume --all
hearth resume 7 --now`,
		setup: func(fs *flag.FlagSet, c *cli) func(context.Context, []string) error {
			api := apiFlag(fs)
			all := fs.Bool("all", false, "resume every torrent")
			now := fs.Bool("now", false, "start at once, ignoring the queue limits")
			return func(ctx context.Context, args []string) error {
				if *now {
					return c.control(ctx, *api, args, *all, "start-now", "started")
				}
				return c.control(ctx, *api, args, *all, "resume", "resumed")
			}
		},
	}
}
