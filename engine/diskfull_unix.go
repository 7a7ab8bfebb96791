//go:build unix

package engine

import "syscall"

// fsID returns the file system (device) holding path, or of its nearest
// existing parent when path does not exist yet.
func fsID(path string) (uint64, bool) {
	return fsIDOf(path, func(p string) (uint64, error) {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			return 0, err
		}
		return uint64(st.Dev), nil // int32 on some systems
	})
}
