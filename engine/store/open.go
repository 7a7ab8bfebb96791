package store

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
)

// Backend names accepted by Options.Backend.
const (
	BackendAuto   = "auto"
	BackendBadger = "badger"
	BackendBbolt  = "bbolt"
	BackendMemory = "memory"
)

// Options configure Open. The zero value (plus Dir) is a store fit for a
// 64 MB device.
type Options struct {
	// Dir holds the store's files; it is created if missing. Unused by the
	// memory backend.
	Dir string
	// Backend is "auto" (or empty), "badger", "bbolt" or "memory". Auto
	// opens whichever backend's files already exist in Dir, and
	// DefaultBackend() for a new store.
	Backend string
	// Badger only; 0 means the low-memory defaults (4, 16 and 0 MiB).
	// A bigger memtable also allows bigger Update transactions; a value may
	// not exceed the value log file size.
	MemTableMiB, ValueLogMiB, BlockCacheMiB int
	// Logger receives the backend's warnings and errors; nil discards them.
	Logger *slog.Logger
}

// boltFile is the bbolt database file inside Options.Dir.
const boltFile = "state.db"

// badgerMarker is a file Badger always creates in its directory.
const badgerMarker = "MANIFEST"

// DefaultBackend is the backend a new store gets with Backend "auto":
// "badger" on 64-bit CPUs, "bbolt" on 32-bit ones.
func DefaultBackend() string {
	if badgerCompiled {
		return BackendBadger
	}
	return BackendBbolt
}

// Backends lists the backends compiled into this build.
func Backends() []string {
	if badgerCompiled {
		return []string{BackendBadger, BackendBbolt, BackendMemory}
	}
	return []string{BackendBbolt, BackendMemory}
}

// unsupportedError keeps a precise message while matching ErrUnsupported.
type unsupportedError struct{ msg string }

func (e *unsupportedError) Error() string        { return e.msg }
func (e *unsupportedError) Is(target error) bool { return target == ErrUnsupported }

func errBadgerUnsupported() error {
	return &unsupportedError{fmt.Sprintf("store: badger is not supported on 32-bit CPUs (GOARCH=%s); use bbolt", runtime.GOARCH)}
}

// Open opens (creating if needed) the store described by opts.
func Open(opts Options) (Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	backend := opts.Backend
	switch backend {
	case BackendMemory:
		return newMemory(), nil
	case "", BackendAuto, BackendBadger, BackendBbolt:
	default:
		return nil, fmt.Errorf("%w %q (want auto, badger, bbolt or memory)", ErrUnknownBackend, backend)
	}
	if opts.Dir == "" {
		return nil, fmt.Errorf("open store: no directory given")
	}
	if backend == "" || backend == BackendAuto {
		backend = detectBackend(opts.Dir, opts.Logger)
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("open store %s: %w", opts.Dir, err)
	}
	switch backend {
	case BackendBadger:
		if !badgerCompiled {
			return nil, errBadgerUnsupported()
		}
		return openBadger(opts)
	default:
		return openBolt(opts)
	}
}

// detectBackend picks the backend whose files are already in dir, so a
// store keeps working when the default changes; otherwise the default.
func detectBackend(dir string, log *slog.Logger) string {
	hasBolt := fileExists(filepath.Join(dir, boltFile))
	hasBadger := fileExists(filepath.Join(dir, badgerMarker))
	switch {
	case hasBolt && hasBadger:
		log.Warn("store directory holds both badger and bbolt files; using the default", "dir", dir, "backend", DefaultBackend())
		return DefaultBackend()
	case hasBolt:
		return BackendBbolt
	case hasBadger:
		// On a 32-bit build this makes Open fail clearly rather than
		// silently starting an empty bbolt store beside the old data.
		return BackendBadger
	}
	return DefaultBackend()
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
