package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/hearth-media/hearth/engine"
)

// controlFlags runs one action (pause, resume…) on the torrents named, or
// on all of them.
func (c *cli) control(ctx context.Context, api string, refs []string, all bool, action, done string) error {
	if all && len(refs) > 0 {
		return usageErrorf("give torrent IDs or --all, not both")
	}
	if !all && len(refs) == 0 {
		return usageErrorf("give at least one torrent ID or infohash (or --all)")
	}
	cl, err := newClient(api)
	if err != nil {
		return err
	}
	if all {
		list, err := cl.list(ctx)
		if err != nil {
			return err
		}
		for _, t := range list {
			refs = append(refs, strconv.FormatInt(t.ID, 10))
		}
		if len(refs) == 0 {
			fmt.Fprintln(c.stdout, "no torrents")
			return nil
		}
	}
	return c.forEachRef(ctx, refs, func(ref string) error {
		var t engine.Torrent
		if err := cl.do(ctx, http.MethodPost, torrentPath(ref)+"/"+action, nil, &t); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s torrent %d: %s (%s)\n", done, t.ID, oneLine(t.Name), t.State)
		return nil
	})
}
