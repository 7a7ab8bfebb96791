package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/url"

	"github.com/hearth-media/hearth/web/access"
)

func cmdDevices() *command {
	return &command{
		name:  "devices",
		args:  "[--json] | revoke ID...",
		short: "list paired phones and TVs, or revoke them",
		long: `
List the devices that paired with this daemon ("hearth pair"): their ID,
when they paired, when and from which address they were last used, and the
name they gave. Tokens are never shown: the daemon keeps only their hashes.

"hearth devices revoke ID..." removes devices: their tokens stop working at
once, and they must pair again to get back in.`,
		example: `
hearth devices
hearth devices revoke k7m2qx
hearth devices --json`,
		setup: func(fs *flag.FlagSet, c *cli) func(context.Context, []string) error {
			api := apiFlag(fs)
			asJSON := fs.Bool("json", false, "print the API's JSON")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 && args[0] != "revoke" {
					return usageErrorf("unknown argument %q: devices takes no arguments, or \"revoke ID...\"", args[0])
				}
				if len(args) == 1 {
					return usageErrorf("revoke which device? give its ID (see \"hearth devices\")")
				}
				cl, err := newClient(*api)
				if err != nil {
					return err
				}
				if len(args) > 0 {
					return c.forEachRef(ctx, args[1:], func(id string) error {
						var d access.Device
						if err := cl.do(ctx, http.MethodDelete, "/devices/"+url.PathEscape(id), nil, &d); err != nil {
							return err
						}
						fmt.Fprintf(c.stdout, "revoked device %s (%s)\n", d.ID, oneLine(d.Name))
						return nil
					})
				}
				if *asJSON {
					var raw json.RawMessage
					if err := cl.do(ctx, http.MethodGet, "/devices", nil, &raw); err != nil {
						return err
					}
					return writeJSON(c.stdout, raw)
				}
				var l struct {
					Devices []access.Device `json:"devices"`
				}
				if err := cl.do(ctx, http.MethodGet, "/devices", nil, &l); err != nil {
					return err
				}
				fmt.Fprint(c.stdout, devicesText(l.Devices, termWidth(c.stdout)))
				return nil
			}
		},
	}
}

func devicesText(list []access.Device, width int) string {
	if len(list) == 0 {
		return "no paired devices (phones and TVs pair with \"hearth pair\")\n"
	}
	var rows [][]string
	for _, d := range list {
		used := "never"
		if !d.LastUsed.IsZero() {
			used = timeText(d.LastUsed)
		}
		rows = append(rows, []string{d.ID, timeText(d.Created), used, d.Addr, oneLine(d.Name)})
	}
	return table([]string{"ID", "PAIRED", "LAST USED", "FROM", "NAME"}, rows, []bool{false, false, false, false, false}, width)
}
