//go:build !linux

package engine

import "errors"

func freeSpace(dir string) (int64, error) {
	return 0, errors.New("free space: not supported on this OS")
}
