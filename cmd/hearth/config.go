package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/web"
)

func cmdConfig() *command {
	return &command{
		name:  "config",
		args:  "[--json] | --local [serve flags]",
		short: "show the effective configuration and where each value comes from",
		long: `
Print every configuration key with its value and its source: the profile's
default, the config file (with its line), a setting saved through the API,
an environment variable or a flag. Without --local it asks the running
daemon. With --local it resolves the configuration here, as "hearth serve"
with the same flags and environment would, without a daemon; settings saved
through the API (in the daemon's state store) are not read then.

The config file uses the same keys: "key = value" lines, sections like
[torrent] for dotted keys. Each key can also be set with HEARTH_ + the key
in upper case, dots as underscores: torrent.peer_port is
HEARTH_TORRENT_PEER_PORT.`,
		example: `
hearth config
hearth config --json
hearth config --local --profile router --data-dir /srv/hearth`,
		setup: func(fs *flag.FlagSet, c *cli) func(context.Context, []string) error {
			api := apiFlag(fs)
			asJSON := fs.Bool("json", false, "print JSON ({\"entries\": [{key, value, source, help}...]})")
			local := fs.Bool("local", false, "resolve the configuration here instead of asking the daemon")
			sf := registerServeFlags(fs)
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usageErrorf("config takes no arguments, got %q", args[0])
				}
				set := flagsSet(fs)
				if !*local {
					for _, f := range append(serveFlagTable, serveFlag{flag: "config"}) {
						if set[f.flag] {
							return usageErrorf("--%s is a serve flag: use it with --local", f.flag)
						}
					}
					cl, err := newClient(*api)
					if err != nil {
						return err
					}
					var raw json.RawMessage
					if err := cl.do(ctx, http.MethodGet, "/config", nil, &raw); err != nil {
						return err
					}
					if *asJSON {
						return writeJSON(c.stdout, raw)
					}
					var body struct {
						Entries []web.ConfigEntry `json:"entries"`
					}
					if err := json.Unmarshal(raw, &body); err != nil {
						return fmt.Errorf("unexpected answer from the daemon: %v", err)
					}
					fmt.Fprint(c.stdout, configTable(body.Entries))
					return nil
				}
				if set["api"] {
					return usageErrorf("--api and --local exclude each other")
				}
				cfg, sources, err := config.Load(sf.loadOptions(fs))
				if err != nil {
					return fmt.Errorf("config: %w", err)
				}
				var entries []web.ConfigEntry
				for _, e := range config.Describe(cfg, sources) {
					entries = append(entries, web.ConfigEntry{Key: e.Key, Value: e.Value, Source: e.Source.String(), Help: e.Help})
				}
				if *asJSON {
					return writeJSON(c.stdout, struct {
						Entries []web.ConfigEntry `json:"entries"`
					}{entries})
				}
				fmt.Fprint(c.stdout, configTable(entries))
				return nil
			}
		},
	}
}

func configTable(entries []web.ConfigEntry) string {
	rows := make([][]string, 0, len(entries))
	for _, e := range entries {
		v := e.Value
		if v == "" {
			v = `""`
		}
		rows = append(rows, []string{e.Key, oneLine(v), e.Source})
	}
	return table([]string{"KEY", "VALUE", "SOURCE"}, rows, []bool{false, false, false}, -1)
}
