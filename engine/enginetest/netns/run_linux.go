//go:build linux

package netns

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// Run calls fn on a fresh OS thread switched into the namespace and returns
// its error. The thread is never handed back to the Go scheduler: it exits
// with the goroutine, so no other goroutine can ever run in the wrong
// namespace even if switching back would fail.
//
// Sockets created by fn stay in the namespace for their whole life, so a
// listener made inside fn can be served from any goroutine afterwards.
// fn must create its sockets itself, not in goroutines it starts (those
// run on other threads, in the host's namespace), and should dial and
// listen on IP literals (name resolution may use other threads).
func (ns *NS) Run(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// No UnlockOSThread: the thread dies when this goroutine returns.
		runtime.LockOSThread()
		f, err := os.Open(filepath.Join("/run/netns", ns.Name))
		if err != nil {
			errc <- fmt.Errorf("netns %s: %w", ns.Name, err)
			return
		}
		err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
		f.Close()
		if err != nil {
			errc <- fmt.Errorf("netns %s: setns: %w", ns.Name, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

func setnsSupported() error {
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		return fmt.Errorf("netns: kernel without network namespaces: %w", err)
	}
	return nil
}
