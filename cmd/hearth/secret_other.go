//go:build !linux

package main

import (
	"errors"
	"os"
)

// isTerminal is false off Linux: secrets then come from --stdin or the
// environment. Hearth's targets are Linux; this keeps other builds working.
func isTerminal(f *os.File) bool { return false }

func readSecretFrom(tty *os.File, prompt string) (string, error) {
	return "", errors.New("cannot turn off echo on this system: use --stdin")
}

func promptPassword(prompt string) (string, error) {
	return "", errors.New("no password given: set $HEARTH_PASSWORD (or $HEARTH_TOKEN for a paired device)")
}
