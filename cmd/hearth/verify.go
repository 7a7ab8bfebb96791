package main

import (
	"context"
	"flag"
)

func cmdVerify() *command {
	return &command{
		name:  "verify",
		args:  "[flags] REF...",
		short: "re-check torrents' data on disk",
		long: `
Hash the torrents' data on disk again. Pieces found missing or damaged are
downloaded again. The check runs in the daemon; this command returns when it
has started ("hearth ls" shows the state "checking").
REF is a torrent ID (see "hearth ls") or infohash.`,
		example: `
hearth verify 3
hearth verify 3 4 5`,
		setup: func(fs *flag.FlagSet, c *cli) func(context.Context, []string) error {
			api := apiFlag(fs)
			return func(ctx context.Context, args []string) error {
				return c.control(ctx, *api, args, false, "verify", "verifying")
			}
		},
	}
}
