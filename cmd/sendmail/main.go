// Command sendmail is postern's sendmail(1), compatible with Postfix's:
// it takes a message from standard input (or an SMTP dialogue with -bs)
// and leaves it in maildrop/ for pickup, lists the queue as mailq (-bp),
// checks the aliases files as newaliases (-bi, -I) and flushes the queue
// with -q. Which it is depends on argv[0] and -b. Any local user may run
// it; it needs no privilege. See sendmail(1), mailq(1), newaliases(1).
package main

import (
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"

	"postern.dev/postern/libmail/config"
)

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// sendmail is one run: the parameters and where to talk.
type sendmail struct {
	params  *config.Params
	cfgPath string
	prog    string
	verbose int
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := &sendmail{prog: "sendmail", stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		args = []string{"sendmail"}
	}
	for i, a := range args[1:] {
		// -h N is sendmail's hop count, accepted and ignored; -h alone
		// asks for help.
		hops := i+2 < len(args) && isDigits(args[i+2])
		if a == "-h" && !hops || a == "--help" {
			fmt.Fprint(stdout, usage)
			return exOK
		}
		if a == "--" || len(a) == 0 || a[0] != '-' {
			break
		}
	}
	o, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(stderr, "sendmail: %v\n", err)
		return s.fatal(exUsage, "usage: sendmail [options] [--] [recipient ...] (sendmail -h lists the options)")
	}
	switch o.mode {
	case modeQueue:
		s.prog = "mailq"
	case modeNewaliases:
		s.prog = "newaliases"
	}
	s.verbose = o.verbose
	for _, w := range o.warnings {
		fmt.Fprintf(stderr, "%s: warning: %s\n", s.prog, w)
	}
	s.cfgPath = o.config
	if s.cfgPath == "" {
		s.cfgPath = config.DefaultFile
	}
	cfg, err := config.Load(s.cfgPath, config.Options{})
	if err != nil {
		return s.fatal(exTempFail, "%v", err)
	}
	s.params = &cfg.Params
	switch o.mode {
	case modeQueue:
		return s.exec(o, "queue", "list")
	case modeFlush:
		if o.site != "" {
			return s.exec(o, "flush", "-s", o.site)
		}
		return s.exec(o, "flush")
	case modeNewaliases:
		return s.newaliases()
	}
	if _, err := callerLogin(); err != nil {
		return s.fatal(exNoUser, "no login name found for user ID %d: %v", os.Getuid(), err)
	}
	if o.mode == modeSMTP {
		return s.smtp(o)
	}
	return s.deliver(o)
}

// fatal prints a fatal error as Postfix does and returns the status.
func (s *sendmail) fatal(status int, format string, args ...any) int {
	fmt.Fprintf(s.stderr, "%s: fatal: %s\n", s.prog, fmt.Sprintf(format, args...))
	return status
}

func isDigits(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

// lookupUID is the login name of a user ID.
func lookupUID(uid int) (string, error) {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return "", err
	}
	return u.Username, nil
}

const usage = `usage: sendmail [options] [--] [recipient ...]
       mailq [-v]
       newaliases [-C FILE]

Submit a message from standard input, as Postfix's sendmail(1).
  -bm          read a message from standard input (the default)
  -bs          speak SMTP on standard input and output
  -bp          list the queue (as mailq; runs postern queue list)
  -bi, -I      check the aliases files (as newaliases)
  -q           deliver the queue now (runs postern flush); -qR SITE, -qS SITE: mail for SITE
  -t           recipients also from To:, Cc: and Bcc:, and Bcc: removed
  -i, -oi      a line with only "." does not end the message
  -f SENDER    envelope sender (kept for trusted users only); -r is the same
  -F NAME      full name for the From: field added when there is none
  -N DSN       delivery status notifications: never, or success,delay,failure
  -R RET       full or hdrs: what a bounce returns
  -V ENVID     envelope ID for delivery status notifications
  -B BODY      7BIT or 8BITMIME
  -C FILE      configuration file (default /etc/postern/postern.toml)
  -v           verbose
  -h           this help
Accepted and ignored as by Postfix: -c -G -m -n -U -x -e X -h N -L X -O X -o X (but -oi) -p X -X X.
Exit status as sysexits.h: 64 usage, 65 bad address or message, 67 unknown user, 75 try again later.
`
