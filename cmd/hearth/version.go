package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/hearth-media/hearth/engine/store"
	"github.com/hearth-media/hearth/web"
)

func cmdVersion() *command {
	return &command{
		name:  "version",
		args:  "[--json]",
		short: "print this program's version, platform and store backends",
		long: `
Print the version and commit of this hearth binary, the Go version and the
platform it was built for, and the state store backends compiled in (badger
exists only in 64-bit builds). It does not contact the daemon.`,
		example: `
hearth version
hearth version --json`,
		setup: func(fs *flag.FlagSet, c *cli) func(context.Context, []string) error {
			asJSON := fs.Bool("json", false, "print JSON")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usageErrorf("version takes no arguments, got %q", args[0])
				}
				vi := versionInfo()
				if *asJSON {
					return writeJSON(c.stdout, vi)
				}
				fmt.Fprintf(c.stdout, "hearth %s (commit %s)\n%s %s/%s\nstore backends: %s\n",
					vi.Version, vi.Commit, vi.GoVersion, vi.OS, vi.Arch, strings.Join(vi.Backends, ", "))
				return nil
			}
		},
	}
}

// versionInfo describes this build: the -ldflags values, else what the Go
// toolchain recorded (module version, VCS revision).
func versionInfo() web.VersionInfo {
	v := web.VersionInfo{
		Version:   version,
		Commit:    commit,
		GoVersion: runtime.Version(),
		OS:        runtime.GOOS,
		Arch:      runtime.GOARCH,
		Backends:  store.Backends(),
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		if v.Commit == "" {
			rev, dirty := "", false
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					dirty = s.Value == "true"
				}
			}
			if len(rev) > 12 {
				rev = rev[:12]
			}
			if rev != "" && dirty {
				rev += "-dirty"
			}
			v.Commit = rev
		}
	}
	if v.Version == "" {
		v.Version = "dev"
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	return v
}
