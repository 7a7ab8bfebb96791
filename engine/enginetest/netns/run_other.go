//go:build !linux

package netns

import "errors"

var errNotLinux = errors.New("netns: network namespaces need Linux")

// Run fails: network namespaces are Linux only.
func (ns *NS) Run(fn func() error) error { return errNotLinux }

func setnsSupported() error { return errNotLinux }
