package engine_test

import (
	"bytes"
	"io"
	osexec "os/exec"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func exec(name string, args ...string) ([]byte, error) {
	return osexec.Command(name, args...).CombinedOutput()
}
