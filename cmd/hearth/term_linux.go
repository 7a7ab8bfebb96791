package main

import (
	"io"
	"os"
	"syscall"
	"unsafe"
)

// termWidth returns the width in columns of the terminal w writes to, or
// 0 when w is not a terminal (a pipe, a file, a test buffer).
func termWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	var ws struct{ row, col, xpixel, ypixel uint16 }
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), uintptr(syscall.TIOCGWINSZ), uintptr(unsafe.Pointer(&ws)))
	if errno != 0 {
		return 0
	}
	if ws.col == 0 {
		return 80 // a terminal that does not say (a serial console)
	}
	return int(ws.col)
}
