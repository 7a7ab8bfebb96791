package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1 // the operation failed (the daemon said no, a file is unreadable…)
	exitUsage       = 2 // bad command line
	exitUnreachable = 3 // no daemon answered at --api
	exitInterrupted = 130
)

// command is one subcommand. setup registers its flags on fs and returns
// the function that runs it with the positional arguments.
type command struct {
	name    string
	args    string // after "hearth NAME": "[flags] REF..."
	short   string // one line for the overview
	long    string // what it does, paragraphs separated by blank lines
	example string // one or more lines, each a shell command
	setup   func(fs *flag.FlagSet, c *cli) func(ctx context.Context, args []string) error
}

// cli is the environment a command runs in.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// commands in the order the overview lists them.
func commands() []*command {
	return []*command{
		cmdServe(), cmdAdd(), cmdLs(), cmdInfo(), cmdPause(), cmdResume(),
		cmdRm(), cmdVerify(), cmdSet(), cmdConfig(), cmdPasswd(), cmdPair(), cmdDevices(),
		cmdDiscover(), cmdChannel(), cmdSubscribe(), cmdUnsubscribe(), cmdSubscriptions(), cmdShare(),
		cmdVersion(), cmdHelp(),
	}
}

func findCommand(name string) *command {
	for _, c := range commands() {
		if c.name == name {
			return c
		}
	}
	return nil
}

// run is the whole program minus process plumbing, so tests call it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		printOverview(stdout)
		return exitOK
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		printOverview(stdout)
		return exitOK
	case "-v", "-version", "--version":
		name = "version"
	}
	cmd := findCommand(name)
	if cmd == nil {
		msg := fmt.Sprintf("unknown command %q (run \"hearth help\" for the list)", name)
		if strings.HasPrefix(name, "-") {
			msg = fmt.Sprintf("flag %s before a command: flags go after it, like \"hearth ls --json\"", name)
		}
		fmt.Fprintln(stderr, "hearth: "+msg)
		return exitUsage
	}
	return c.runCommand(ctx, cmd, args[1:])
}

func (c *cli) runCommand(ctx context.Context, cmd *command, args []string) int {
	fs := flag.NewFlagSet("hearth "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported below, in one line
	fs.Usage = func() {}
	exec := cmd.setup(fs, c)
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		printHelp(c.stdout, cmd, fs)
		return exitOK
	}
	if err != nil {
		return c.fail(cmd, usageErrorf("%v", err))
	}
	return c.fail(cmd, exec(ctx, pos))
}

// fail prints err (if any) and returns the exit code it means.
func (c *cli) fail(cmd *command, err error) int {
	if err == nil {
		return exitOK
	}
	var (
		ue *usageError
		re *unreachableError
		se *silentError
	)
	switch {
	case errors.As(err, &se):
		return se.code
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "hearth: %s (see \"hearth %s --help\")\n", ue.msg, cmd.name)
		return exitUsage
	case errors.As(err, &re):
		fmt.Fprintln(c.stderr, "hearth: "+re.Error())
		return exitUnreachable
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(c.stderr, "hearth: interrupted")
		return exitInterrupted
	}
	fmt.Fprintln(c.stderr, "hearth: "+oneLine(err.Error()))
	return exitFailed
}

// usageError is a bad command line: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	// flag's messages say "-name"; users type "--name".
	msg = strings.Replace(msg, "provided but not defined: -", "unknown flag: --", 1)
	msg = strings.Replace(msg, "flag needs an argument: -", "flag needs a value: --", 1)
	if i := strings.Index(msg, " for flag -"); i >= 0 {
		msg = msg[:i] + " for flag --" + msg[i+len(" for flag -"):]
	}
	return &usageError{msg: msg}
}

// unreachableError means nothing answered at the API address: exit code 3.
type unreachableError struct {
	api string
	err error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("cannot reach the hearth daemon at %s (is \"hearth serve\" running?)", e.api)
}

func (e *unreachableError) Unwrap() error { return e.err }

// silentError carries an exit code for errors already reported (one line
// per failed torrent of a multi-torrent command).
type silentError struct{ code int }

func (e *silentError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// parseInterleaved parses flags that may come before, between or after the
// positional arguments ("hearth add FILE --wait"): Go's flag package stops
// at the first positional, so parse again after each one. A "--" ends the
// flags; everything after it is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		// Split off a "--" first so it cannot be mistaken for a flag value.
		head, tail, dashdash := args, []string(nil), false
		for i, a := range args {
			if a == "--" {
				head, tail, dashdash = args[:i], args[i+1:], true
				break
			}
		}
		if err := fs.Parse(head); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			if dashdash {
				pos = append(pos, tail...)
			}
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
		if dashdash {
			args = append(append(args, "--"), tail...)
		}
	}
}

// stringList is a flag that may be repeated (--peer a --peer b).
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// flagsSet returns the names of the flags given on the command line.
func flagsSet(fs *flag.FlagSet) map[string]bool {
	m := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { m[f.Name] = true })
	return m
}

func printOverview(w io.Writer) {
	fmt.Fprint(w, `Hearth is a BitTorrent client for small devices: a daemon ("hearth serve")
and commands that talk to it over its HTTP API.

Usage: hearth COMMAND [flags] [arguments]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.short)
	}
	fmt.Fprint(w, `
Client commands find the daemon with --api URL or $HEARTH_API
(default `+defaultAPI+`).

Run "hearth COMMAND --help" for a command's flags and examples.
Exit codes: 0 ok, 1 the operation failed, 2 usage error, 3 daemon not
reachable, 130 interrupted.
`)
}

func printHelp(w io.Writer, cmd *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: hearth %s %s\n\n", cmd.name, cmd.args)
	fmt.Fprintln(w, strings.TrimSpace(cmd.long))
	var flags []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f) })
	if len(flags) > 0 {
		sort.Slice(flags, func(i, j int) bool { return flags[i].Name < flags[j].Name })
		fmt.Fprintln(w, "\nFlags (before or after the arguments):")
		for _, f := range flags {
			typ, usage := flag.UnquoteUsage(f)
			head := "--" + f.Name
			if typ != "" {
				head += " " + typ
			}
			line := usage
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "[]" {
				line += fmt.Sprintf(" (default %s)", f.DefValue)
			}
			if len(head) <= 20 {
				fmt.Fprintf(w, "  %-20s  %s\n", head, line)
			} else {
				fmt.Fprintf(w, "  %s\n  %-20s  %s\n", head, "", line)
			}
		}
	}
	if cmd.example != "" {
		fmt.Fprintln(w, "\nExamples:")
		for _, l := range strings.Split(strings.TrimSpace(cmd.example), "\n") {
			fmt.Fprintln(w, "  "+strings.TrimSpace(l))
		}
	}
}

// getenv is os.Getenv; commands read HEARTH_* through it.
var getenv = os.Getenv
