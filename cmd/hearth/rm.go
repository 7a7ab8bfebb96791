package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"

	"github.com/hearth-media/hearth/engine"
)

func cmdRm() *command {
	return &command{
		name:  "rm",
		args:  "[--delete-data] REF...",
		short: "remove torrents (and with --delete-data, their files)",
		long: `
Remove torrents from the daemon. Downloaded files stay on disk unless
--delete-data is given: then the torrent's own files are deleted, and the
folders it created if they are left empty; other files are never touched.
REF is a torrent ID (see "hearth ls") or infohash.`,
		example: `
hearth rm 3
hearth rm --delete-data 3 7`,
		setup: func(fs *flag.FlagSet, c *cli) func(context.Context, []string) error {
			api := apiFlag(fs)
			deleteData := fs.Bool("delete-data", false, "also delete the downloaded files")
			return func(ctx context.Context, args []string) error {
				if len(args) == 0 {
					return usageErrorf("give at least one torrent ID or infohash")
				}
				cl, err := newClient(*api)
				if err != nil {
					return err
				}
				path := ""
				if *deleteData {
					path = "?delete_data=true"
				}
				return c.forEachRef(ctx, args, func(ref string) error {
					var t engine.Torrent
					if err := cl.do(ctx, http.MethodDelete, torrentPath(ref)+path, nil, &t); err != nil {
						return err
					}
					if *deleteData {
						fmt.Fprintf(c.stdout, "removed torrent %d and its data: %s\n", t.ID, oneLine(t.Name))
					} else {
						fmt.Fprintf(c.stdout, "removed torrent %d: %s\n", t.ID, oneLine(t.Name))
					}
					return nil
				})
			}
		},
	}
}
