package main

import (
	"context"
	"flag"
	"io"
)

func cmdHelp() *command {
	return &command{
		name:  "help",
		args:  "[COMMAND]",
		short: "show the list of commands, or a command's help",
		long: `
Without an argument, list the commands. With one, print that command's help,
as "hearth COMMAND --help" does.`,
		example: `
hearth help
hearth help add`,
		setup: func(fs *flag.FlagSet, c *cli) func(context.Context, []string) error {
			return func(ctx context.Context, args []string) error {
				switch len(args) {
				case 0:
					printOverview(c.stdout)
					return nil
				case 1:
				default:
					return usageErrorf("help takes at most one command name")
				}
				cmd := findCommand(args[0])
				if cmd == nil {
					return usageErrorf("unknown command %q", args[0])
				}
				cfs := flag.NewFlagSet("hearth "+cmd.name, flag.ContinueOnError)
				cfs.SetOutput(io.Discard)
				cmd.setup(cfs, c)
				printHelp(c.stdout, cmd, cfs)
				return nil
			}
		},
	}
}
