// Command hearth is the Hearth BitTorrent daemon ("hearth serve") and the
// command line that drives it through its HTTP API. Run "hearth help".
package main

import (
	"context"
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
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
