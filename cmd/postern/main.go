// Command postern is the administrator's command: it starts, stops,
// reloads and inspects the mail system, checks and edits the
// configuration, and makes development sandboxes. See postern(1).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/version"
)

// command is one subcommand. Every subcommand parses its own flags before
// it does anything (and before the configuration is read), so that
// "postern stop -h" prints help instead of stopping the mail system.
type command struct {
	name string
	args string // the synopsis after the name, for usage lines
	help string
	run  func(a *app, args []string) error
}

// app is what every subcommand gets: where the configuration is, and
// where to print.
type app struct {
	cfgPath  string
	cfg      *config.Config
	stdin    io.Reader
	tty      terminal // standard input, when it is a terminal (passwords)
	stdout   io.Writer
	stderr   io.Writer
	synopsis string // of the subcommand being run, for usage errors
	now      func() time.Time
}

// clock returns the time; tests set a.now.
func (a *app) clock() time.Time {
	if a.now != nil {
		return a.now()
	}
	return time.Now()
}

// usageError makes main print the subcommand's usage and exit 2.
type usageError string

func (e usageError) Error() string { return string(e) }

func commands() []command {
	return []command{
		{name: "start", args: "[-c FILE]", help: "start the mail system; returns once every service is ready", run: cmdStart},
		{name: "stop", args: "[-c FILE]", help: "stop the mail system gracefully", run: cmdStop},
		{name: "reload", args: "[-c FILE]", help: "reread the configuration; changed services restart", run: cmdReload},
		{name: "status", args: "[-c FILE]", help: "show whether the mail system runs, and its services", run: cmdStatus},
		{name: "check", args: "[-c FILE]", help: "check the configuration, users, files and spool", run: cmdCheck},
		{name: "flush", args: "[-c FILE] [-s SITE]", help: "retry deferred mail now (only mail for SITE with -s)", run: cmdFlush},
		{name: "config", args: "[-c FILE] check | show [-d|-n] [NAME...] | set NAME=VALUE...", help: "check, show or edit the configuration", run: cmdConfig},
		{name: "dkim", args: "[-c FILE] " + dkimSynopsis, help: "make a DKIM signing key and print the DNS record to publish", run: cmdDKIM},
		{name: "dns", args: "[-c FILE] " + dnsSynopsis, help: "show the DNS records a domain should publish, and check them live", run: cmdDNS},
		{name: "log", args: "[-c FILE] " + logSynopsis, help: "print the mail log lines of one message, its session and its bounces", run: cmdLog},
		{name: "user", args: userSynopsis, help: "add, re-password, remove or list the accounts of accounts_file", run: cmdUser},
		{name: "queue", args: queueSynopsis, help: "list, show, hold, release, delete, requeue, expire queued mail; its shape", run: cmdQueue},
		{name: "sandbox", args: "DIR [-port-base N] [-f]", help: "write a self-contained, unprivileged setup on loopback under DIR", run: cmdSandbox},
		{name: "version", help: "print the version", run: cmdVersion},
	}
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "usage: postern [-c FILE] COMMAND [ARGS]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.help)
		if c.args != "" && c.args != "[-c FILE]" {
			fmt.Fprintf(w, "  %-9s   postern %s %s\n", "", c.name, c.args)
		}
	}
	fmt.Fprintf(w, "\n-c FILE names the configuration (default %s).\n\"postern COMMAND -h\" describes one command.\n", config.DefaultFile)
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(argv []string, stdout, stderr io.Writer) int {
	return runWith(&app{stdin: os.Stdin, tty: stdinTerminal{os.Stdin, stderr}, stdout: stdout, stderr: stderr}, argv)
}

// runWith runs a command with a's standard streams; tests give their own.
func runWith(a *app, argv []string) int {
	stdout, stderr := a.stdout, a.stderr
	fs := flag.NewFlagSet("postern", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&a.cfgPath, "c", config.DefaultFile, "configuration `file`")
	fs.Usage = func() {}
	if err := fs.Parse(argv); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return 0
		}
		usage(stderr)
		return 2
	}
	args := fs.Args()
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name, args := args[0], args[1:]
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		a.synopsis = strings.TrimSpace("postern " + name + " " + c.args)
		err := c.run(a, args)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		}
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "postern %s: %v\nusage: %s\n", name, err, a.synopsis)
			return 2
		}
		fmt.Fprintf(stderr, "postern: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "postern: unknown command %q\n", name)
	usage(stderr)
	return 2
}

// flags returns the flag set of subcommand name (for example "stop", or
// "config show"), whose usage is "postern NAME SYNOPSIS". Every one takes
// -c, which may follow the command as well as precede it, and -h.
func (a *app) flags(name, synopsis, help string) *flag.FlagSet {
	a.synopsis = strings.TrimSpace("postern " + name + " " + synopsis)
	fs := flag.NewFlagSet("postern "+name, flag.ContinueOnError)
	fs.StringVar(&a.cfgPath, "c", a.cfgPath, "configuration `file`")
	// The flag package's own messages are silenced: parse turns them into
	// one usage error, or the help text on standard output for -h.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: postern %s %s\n%s\n\nflags:\n", name, synopsis, help)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses a subcommand's arguments. -h and --help print the usage on
// standard output and end the command with success (flag.ErrHelp); a bad
// flag, or more positional arguments than maxArgs (-1: any number), is a
// usage error. Flags and positional arguments may come in any order.
func (a *app) parse(fs *flag.FlagSet, args []string, maxArgs int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(a.stdout)
				fs.Usage()
				return nil, flag.ErrHelp
			}
			return nil, usageError(err.Error())
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if maxArgs >= 0 && len(pos) > maxArgs {
		if maxArgs == 0 {
			return nil, usageError(fmt.Sprintf("unexpected argument %q", pos[0]))
		}
		return nil, usageError(fmt.Sprintf("too many arguments: %s", strings.Join(pos, " ")))
	}
	return pos, nil
}

// load reads the configuration strictly: a command that acts on it must
// not guess.
func (a *app) load() error {
	cfg, err := config.Load(a.cfgPath, config.Options{})
	if err != nil {
		return err
	}
	a.cfg = cfg
	return nil
}

func cmdVersion(a *app, args []string) error {
	fs := a.flags("version", "", "Print the version.")
	if _, err := a.parse(fs, args, 0); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, "postern", version.Version)
	return nil
}
