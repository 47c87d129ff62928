// Command postern is the administrator's command: it starts, stops,
// reloads and inspects the mail system, checks and edits the
// configuration, and makes development sandboxes. See postern(1).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/version"
)

// command is one subcommand.
type command struct {
	name  string
	args  string
	help  string
	run   func(a *app, args []string) error
	noCfg bool // does not need the configuration loaded
}

// app is what every subcommand gets: where the configuration is, and
// where to print.
type app struct {
	cfgPath string
	cfg     *config.Config
	stdout  io.Writer
	stderr  io.Writer
}

// errUsage makes main print the usage.
type usageError string

func (e usageError) Error() string { return string(e) }

func commands() []command {
	return []command{
		{name: "start", help: "start the mail system; returns once every service is ready", run: cmdStart},
		{name: "stop", help: "stop the mail system gracefully", run: cmdStop},
		{name: "reload", help: "reread the configuration; changed services restart", run: cmdReload},
		{name: "status", help: "show whether the mail system runs, and its services", run: cmdStatus},
		{name: "check", help: "check the configuration, users, files and spool", run: cmdCheck},
		{name: "flush", help: "ask the queue manager to retry deferred mail now", run: cmdFlush},
		{name: "config", args: "check | show [-d|-n] [NAME...] | set NAME=VALUE...", help: "check, show or edit the configuration", run: cmdConfig, noCfg: true},
		{name: "sandbox", args: "DIR [-port-base N]", help: "write a self-contained, unprivileged setup on loopback under DIR", run: cmdSandbox, noCfg: true},
		{name: "version", help: "print the version", run: func(a *app, _ []string) error {
			fmt.Fprintln(a.stdout, "postern", version.Version)
			return nil
		}, noCfg: true},
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: postern [-c FILE] COMMAND [ARGS]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.help)
		if c.args != "" {
			fmt.Fprintf(w, "  %-9s   postern %s %s\n", "", c.name, c.args)
		}
	}
	fmt.Fprintf(w, "\n-c FILE names the configuration (default %s).\n", config.DefaultFile)
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(argv []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("postern", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&a.cfgPath, "c", config.DefaultFile, "configuration `file`")
	fs.Usage = func() { usage(stderr) }
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	args := fs.Args()
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name, args := args[0], args[1:]
	// -c may also follow the command, as in "postern start -c FILE".
	args = takeConfigFlag(a, args)
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		if !c.noCfg {
			cfg, err := config.Load(a.cfgPath, config.Options{})
			if err != nil {
				fmt.Fprintf(stderr, "postern: %v\n", err)
				return 1
			}
			a.cfg = cfg
		}
		if err := c.run(a, args); err != nil {
			if _, ok := err.(usageError); ok {
				fmt.Fprintf(stderr, "postern %s: %v\nusage: postern %s %s\n", name, err, name, c.args)
				return 2
			}
			fmt.Fprintf(stderr, "postern: %v\n", err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "postern: unknown command %q\n", name)
	usage(stderr)
	return 2
}

// takeConfigFlag removes "-c FILE" from a subcommand's arguments.
func takeConfigFlag(a *app, args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "-c" && i+1 < len(args):
			a.cfgPath = args[i+1]
			i++
		case strings.HasPrefix(args[i], "-c="):
			a.cfgPath = strings.TrimPrefix(args[i], "-c=")
		default:
			out = append(out, args[i])
		}
	}
	return out
}
