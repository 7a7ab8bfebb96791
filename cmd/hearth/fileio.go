package main

import (
	"fmt"
	"os"
	"syscall"
)

// fileIOEnv selects anacrolix/torrent's file IO. Its storage package reads
// it once, in an init function, before main runs, so setting it from Go is
// too late: the process must start with it.
const fileIOEnv = "TORRENT_STORAGE_DEFAULT_FILE_IO"

// ensureClassicFileIO re-executes the process with classic (read/write)
// file IO unless it already has it. The library's default, mmap, maps
// whole files: hashing 200 MB put 222 MB of pages into RSS, and 32-bit
// devices cannot map large files at all (shared field notes). It runs
// first thing in main for "serve", before anything else has happened, so
// the re-exec repeats nothing. On failure the daemon still runs, and the
// engine logs a warning about mmap.
func ensureClassicFileIO() {
	if os.Getenv(fileIOEnv) == "classic" {
		return
	}
	if err := os.Setenv(fileIOEnv, "classic"); err != nil {
		return
	}
	err := syscall.Exec("/proc/self/exe", os.Args, os.Environ())
	fmt.Fprintf(os.Stderr, "hearth: re-exec with %s=classic: %v; continuing with mmap file IO\n", fileIOEnv, err)
}
