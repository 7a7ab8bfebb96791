//go:build !linux

package main

import (
	"io"
	"os"
	"strconv"
)

// termWidth returns the terminal width from $COLUMNS when w is a character
// device, else 0. Hearth's targets are Linux; this keeps other builds working.
func termWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return 0
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 80
}
