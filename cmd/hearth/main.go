// Command hearth is the Hearth BitTorrent daemon ("hearth serve") and the
// command line that drives it through its HTTP API. Run "hearth help".
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Set at build time: -ldflags "-X main.version=… -X main.commit=…"
// (scripts/build.sh). Empty values fall back to the module build info.
var (
	version string
	commit  string
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		ensureClassicFileIO()
		// Until serve listens for it, a SIGHUP (reload) must not kill the
		// daemon half-way through starting.
		signal.Ignore(syscall.SIGHUP)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if restartInPlace.Load() && code == exitOK {
		err := execSelf()
		fmt.Fprintf(os.Stderr, "hearth: restart after SIGHUP: %v\n", err)
		code = exitFailed
	}
	os.Exit(code)
}
