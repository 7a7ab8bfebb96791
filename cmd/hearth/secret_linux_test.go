package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY returns the master and slave ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty slave: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

// TestPasswdPromptsWithoutEcho runs "hearth passwd" on a real terminal: it
// asks twice, the typed password is not echoed, and the terminal's echo is
// back on afterwards.
func TestPasswdPromptsWithoutEcho(t *testing.T) {
	master, slave := openPTY(t)
	d := startDaemonProc(t, t.TempDir())
	const pw = "typed secret 42"

	seen := make(chan string, 64)
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := master.Read(buf)
			if n > 0 {
				seen <- string(buf[:n])
			}
			if err != nil {
				close(seen)
				return
			}
		}
	}()
	var screen strings.Builder
	waitFor := func(s string) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for !strings.Contains(screen.String(), s) {
			select {
			case chunk, ok := <-seen:
				if !ok {
					t.Fatalf("terminal closed before %q; screen: %q", s, screen.String())
				}
				screen.WriteString(chunk)
			case <-deadline:
				t.Fatalf("no %q on the terminal; screen: %q", s, screen.String())
			}
		}
	}
	type result struct {
		code        int
		out, errOut string
	}
	done := make(chan result, 1)
	go func() {
		var out, errb bytes.Buffer
		c := run(context.Background(), []string{"passwd", "--api", d.api}, slave, &out, &errb)
		done <- result{c, out.String(), errb.String()}
	}()
	waitFor("New password for admin: ")
	master.Write([]byte(pw + "\n"))
	waitFor("Again: ")
	master.Write([]byte(pw + "\n"))
	r := <-done
	if r.code != exitOK || !strings.Contains(r.out, "password set for user admin") {
		t.Fatalf("hearth passwd on a terminal = exit %d, %q, %q", r.code, r.out, r.errOut)
	}
	// Let the last echo (if any) arrive before looking.
	time.Sleep(100 * time.Millisecond)
	for len(seen) > 0 {
		screen.WriteString(<-seen)
	}
	if strings.Contains(screen.String(), pw) {
		t.Errorf("the password was echoed; terminal showed %q", screen.String())
	}
	tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil || tio.Lflag&unix.ECHO == 0 {
		t.Errorf("terminal echo after passwd: %v, lflag %#x; want echo restored", err, tio.Lflag)
	}
}
