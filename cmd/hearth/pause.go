package main

import (
	"context"
	"flag"
)

func cmdPause() *command {
	return &command{
		name:  "pause",
		args:  "[flags] REF... | --all",
		short: "stop torrents until resumed",
		long: `
Stop torrents: they leave the queue, close their peer connections and stay
stopped, across restarts, until "hearth resume". Their data and progress are
kept. REF is a torrent ID (see "hearth ls") or infohash.`,
		example: `
hearth pause 3
hearth pause 3 7 12
hearth pause --all`,
		setup: func(fs *flag.FlagSet, c *cli) func(context.Context, []string) error {
			api := apiFlag(fs)
			all := fs.Bool("all", false, "pause every torrent")
			return func(ctx context.Context, args []string) error {
				return c.control(ctx, *api, args, *all, "pause", "paused")
			}
		},
	}
}
