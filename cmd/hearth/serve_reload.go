package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

// restartInPlace is set when the daemon stops because of SIGHUP: main then
// replaces the process with a fresh "hearth serve" (same PID, arguments
// and environment), which reads the configuration again. A reload is a
// restart because most settings (ports, store, engine sizes) can only be
// applied at start-up, and with state in the store and verified pieces
// remembered, a restart costs a second or two and re-hashes nothing.
var restartInPlace atomic.Bool

// waitForStop blocks until the API server fails, ctx ends (SIGINT/SIGTERM)
// or a SIGHUP brings a configuration that validates. A SIGHUP whose
// configuration has errors is refused with a log line: the daemon keeps
// running on the old one, as nginx and sshd do.
func waitForStop(ctx context.Context, errc <-chan error, log *slog.Logger, check func() error) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case err := <-errc:
			return fmt.Errorf("serve API: %w", err)
		case <-ctx.Done():
			return nil
		case <-hup:
			if err := check(); err != nil {
				log.Error("reload refused: the configuration has errors; still running with the previous one", "err", err)
				continue
			}
			log.Info("reload: restarting in place with the new configuration")
			restartInPlace.Store(true)
			return nil
		}
	}
}

// execSelf replaces the process with a fresh copy of itself. It returns
// only on failure.
func execSelf() error {
	exe, err := os.Executable()
	if err != nil {
		exe = "/proc/self/exe"
	}
	return syscall.Exec(exe, os.Args, os.Environ())
}
