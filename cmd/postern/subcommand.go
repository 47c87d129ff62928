package main

import "strings"

// subcommands runs the subcommand args names from table, for the
// commands that have several (`postern config check`, `postern queue
// list`, ...). -c FILE may stand between the command and its
// subcommand, as in `postern config -c FILE check`; -h prints the
// command's usage with synopsis and help.
func (a *app) subcommands(name, synopsis, help string, args []string, table map[string]func(*app, []string) error) error {
	for len(args) > 1 && args[0] == "-c" {
		a.cfgPath, args = args[1], args[2:]
	}
	for len(args) > 0 && strings.HasPrefix(args[0], "-c=") {
		a.cfgPath, args = strings.TrimPrefix(args[0], "-c="), args[1:]
	}
	if len(args) == 0 {
		return usageError("missing subcommand")
	}
	switch args[0] {
	case "-h", "-help", "--help":
		fs := a.flags(name, synopsis, help)
		_, err := a.parse(fs, args, 0)
		return err
	}
	if run, ok := table[args[0]]; ok {
		return run(a, args[1:])
	}
	return usageError("unknown subcommand " + args[0])
}
