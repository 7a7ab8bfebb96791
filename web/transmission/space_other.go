//go:build !linux

package transmission

import "errors"

func statfs(dir string) (free, total int64, err error) {
	return 0, 0, errors.New("free space is only known on Linux")
}
