package store_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine/store"
)

// The crash test re-runs this test binary as a child process (TestMain
// switches on childEnv) that writes numbered keys and prints each one
// after the write returned. The parent kills it with SIGKILL at a random
// moment and checks that every acknowledged write is in the store.

const childEnv = "HEARTH_STORE_TEST_CHILD" // "write|hold <backend> <dir> <prefix>"

// childValue is the value of key i: some small (inline in Badger's LSM
// tree), some over Badger's 1 KiB value threshold (in its value log).
func childValue(prefix string, i int) []byte {
	v := fmt.Appendf(nil, "%s%d:", prefix, i)
	if i%3 == 0 {
		v = append(v, bytes.Repeat([]byte{byte('a' + i%26)}, 2048)...)
	}
	return v
}

func childKey(prefix string, i int, suffix string) []byte {
	return fmt.Appendf(nil, "%s%08d%s", prefix, i, suffix)
}

func runChild(spec string) int {
	// Never outlive a parent that died without killing us.
	time.AfterFunc(30*time.Second, func() { os.Exit(3) })
	f := strings.Fields(spec)
	if len(f) != 4 {
		fmt.Fprintf(os.Stderr, "bad %s=%q\n", childEnv, spec)
		return 2
	}
	mode, backend, dir, prefix := f[0], f[1], f[2], f[3]
	s, err := store.Open(store.Options{Dir: dir, Backend: backend})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	switch mode {
	case "hold":
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
		s.Close()
		return 0
	case "write":
	default:
		return 2
	}
	for i := 0; ; i++ {
		if i%5 == 4 {
			// Two keys in one transaction: both or neither.
			err = s.Update(func(tx store.Txn) error {
				if err := tx.Set(childKey(prefix, i, ""), childValue(prefix, i)); err != nil {
					return err
				}
				return tx.Set(childKey(prefix, i, "b"), childValue(prefix, i))
			})
		} else {
			err = s.Set(childKey(prefix, i, ""), childValue(prefix, i))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if i%7 == 6 {
			// Deletes must stick too: remove the previous key.
			if err := s.Delete(childKey(prefix, i-1, "")); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		// One write(2) per line: a pipe write under PIPE_BUF is atomic.
		os.Stdout.WriteString(strconv.Itoa(i) + "\n")
	}
}

func startChild(t *testing.T, spec string) (*exec.Cmd, *bufio.Reader, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+spec)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, bufio.NewReader(stdout), stdin
}

func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	for _, backend := range store.Backends() {
		if backend == store.BackendMemory {
			continue
		}
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			for round := range 4 {
				prefix := fmt.Sprintf("r%d/", round)
				acked := crashRound(t, backend, dir, prefix)
				t.Logf("round %d: %d writes acknowledged before kill -9", round, acked)
				if acked == 0 {
					t.Fatalf("round %d: child acknowledged no write", round)
				}
				verifyCrash(t, backend, dir, prefix, acked)
			}
		})
	}
}

// crashRound runs one writer child, kills it and returns how many writes
// it acknowledged (keys 0..n-1).
func crashRound(t *testing.T, backend, dir, prefix string) int {
	t.Helper()
	cmd, out, _ := startChild(t, fmt.Sprintf("write %s %s %s", backend, dir, prefix))
	lines := make(chan string, 1<<16)
	go func() {
		defer close(lines)
		for {
			line, err := out.ReadString('\n')
			if err != nil {
				return // a line without its newline was not acknowledged
			}
			lines <- strings.TrimSuffix(line, "\n")
		}
	}()
	var acked []string
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatalf("child exited before writing: %v", cmd.Wait())
		}
		acked = append(acked, l)
	case <-time.After(20 * time.Second):
		t.Fatal("child wrote nothing in 20s")
	}
	// Kill at a random moment while it writes.
	time.Sleep(time.Duration(5+rand.IntN(150)) * time.Millisecond)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	for l := range lines {
		acked = append(acked, l)
	}
	for i, l := range acked {
		if l != strconv.Itoa(i) {
			t.Fatalf("ack %d = %q, want %d", i, l, i)
		}
	}
	return len(acked)
}

func verifyCrash(t *testing.T, backend, dir, prefix string, acked int) {
	t.Helper()
	s, err := store.Open(store.Options{Dir: dir, Backend: backend})
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer s.Close()
	// Key i%7==5 is deleted when key i+1 is written; that delete is
	// acknowledged with i+1, so it may or may not have happened for the
	// last acknowledged key.
	mustBeDeleted := func(i int) bool { return i%7 == 5 && i+1 < acked }
	mayBeDeleted := func(i int) bool { return i%7 == 5 && i+1 >= acked }
	for i := range acked {
		got, err := s.Get(childKey(prefix, i, ""))
		switch {
		case mustBeDeleted(i):
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("key %d was deleted (acknowledged), Get = %v", i, err)
			}
		case mayBeDeleted(i) && errors.Is(err, store.ErrNotFound):
		case err != nil || !bytes.Equal(got, childValue(prefix, i)):
			t.Fatalf("acknowledged key %d of %d: Get = %d bytes, %v", i, acked, len(got), err)
		}
	}
	// Transactions are all or nothing, including the one in flight, and
	// nothing past the write in flight exists.
	err = s.View(func(r store.Reader) error {
		return r.Scan([]byte(prefix), func(k, v []byte) error {
			num := bytes.TrimSuffix(k[len(prefix):], []byte("b"))
			i, err := strconv.Atoi(string(num))
			if err != nil {
				return fmt.Errorf("unexpected key %q", k)
			}
			if i > acked {
				return fmt.Errorf("key %q written after the last acknowledged %d", k, acked-1)
			}
			if !bytes.Equal(v, childValue(prefix, i)) {
				return fmt.Errorf("key %q has a wrong value (%d bytes)", k, len(v))
			}
			if !bytes.HasSuffix(k, []byte("b")) {
				return nil
			}
			if _, err := r.Get(k[:len(k)-1]); errors.Is(err, store.ErrNotFound) && !mustBeDeleted(i) && !mayBeDeleted(i) {
				return fmt.Errorf("%q present without its transaction partner", k)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOpenLockedByOtherProcess opens a store held by a live child process.
func TestOpenLockedByOtherProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	for _, backend := range store.Backends() {
		if backend == store.BackendMemory {
			continue
		}
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			cmd, out, stdin := startChild(t, fmt.Sprintf("hold %s %s x", backend, dir))
			if line, err := out.ReadString('\n'); line != "ready\n" {
				t.Fatalf("child said %q, %v; want ready", line, err)
			}
			s, err := store.Open(store.Options{Dir: dir, Backend: backend})
			if !errors.Is(err, store.ErrLocked) {
				if s != nil {
					s.Close()
				}
				t.Fatalf("Open of a store held by pid %d = %v, want ErrLocked", cmd.Process.Pid, err)
			}
			// Once the holder exits, the store opens.
			stdin.Close()
			if err := cmd.Wait(); err != nil {
				t.Fatalf("holder exit: %v", err)
			}
			s, err = store.Open(store.Options{Dir: dir, Backend: backend})
			if err != nil {
				t.Fatalf("Open after holder exited = %v", err)
			}
			s.Close()
		})
	}
}
