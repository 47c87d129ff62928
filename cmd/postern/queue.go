package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"postern.dev/postern/libmail/ipc/showq"
	"postern.dev/postern/libmail/queue"
)

const queueSynopsis = "[-c FILE] list | show ID... | hold | release | delete | requeue | expire | shape [-j] [SELECTION]"

const queueHelp = `Inspect and change the mail queue (Postfix's mailq, postcat -q, postsuper
and qshape). "postern queue SUBCOMMAND -h" describes one subcommand.`

// cmdQueue is `postern queue`. The reading, selection and changes live
// in libmail/queue; this file and its queue_*.go siblings parse the
// command line and print.
func cmdQueue(a *app, args []string) error {
	table := map[string]func(*app, []string) error{"list": queueList, "show": queueShow, "shape": queueShape}
	for name, c := range changes {
		table[name] = func(a *app, args []string) error { return queueChange(a, c, args) }
	}
	return a.subcommands("queue", queueSynopsis, queueHelp, args, table)
}

// stringList is a repeatable flag; "a,b" counts as two values, and an
// empty value as one (an empty -s is the null sender).
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" || v == "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// selection holds the selection flags every subcommand but shape takes.
type selection struct {
	senders, rcpts, domains, queues stringList
	json                            *bool
}

func (s *selection) register(fs *flag.FlagSet, queues bool) {
	fs.Var(&s.senders, "s", "select mail from `sender` (<> for the null sender; repeatable)")
	fs.Var(&s.rcpts, "r", "select mail to `recipient` (repeatable)")
	fs.Var(&s.domains, "d", "select mail to a recipient in `domain` (repeatable)")
	if queues {
		fs.Var(&s.queues, "q", "only the `queue` incoming, active, deferred or hold (repeatable)")
	}
	s.json = fs.Bool("j", false, "print JSON")
}

// selector turns the flags and the positional arguments (queue IDs, ALL,
// or - for IDs on standard input, one a line) into a queue.Selector.
func (s *selection) selector(a *app, pos []string) (*queue.Selector, error) {
	sel := &queue.Selector{}
	for _, p := range pos {
		if p == "-" {
			if err := sel.ReadIDs(a.stdin); err != nil {
				return nil, err
			}
			continue
		}
		if err := sel.AddID(p); err != nil {
			return nil, usageError(err.Error())
		}
	}
	if s.senders != nil {
		sel.Senders = s.senders
	}
	if s.rcpts != nil {
		sel.Recipients = s.rcpts
	}
	if s.domains != nil {
		sel.Domains = s.domains
	}
	return sel, nil
}

// queueNames checks -q's queue names against the ones allowed and returns
// them in the listing order; none means all of them.
func queueNames(given, allowed []string) ([]string, error) {
	if len(given) == 0 {
		return allowed, nil
	}
	var out []string
	for _, q := range allowed {
		if slices.Contains(given, q) {
			out = append(out, q)
		}
	}
	for _, q := range given {
		if !slices.Contains(allowed, q) {
			return nil, usageError(fmt.Sprintf("unknown queue %q (want %s)", q, strings.Join(allowed, ", ")))
		}
	}
	return out, nil
}

// errMailDown is postqueue's message to a user who may not read the
// queue when showq does not answer.
var errMailDown = errors.New("queue report unavailable - mail system is down")

// summaries calls fn with the summary of every entry in queues: from the
// showq daemon, which any user may ask, or, when it does not answer, from
// the spool directly, which only root and mail_owner may read (Postfix's
// postqueue -p does the same).
func (a *app) summaries(queues []string, fn func(*queue.Summary) error) error {
	root := a.cfg.QueueDirectory
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	err := showq.List(ctx, root, queues, fn)
	var de *showq.DialError
	if !errors.As(err, &de) {
		return err
	}
	if err := mayRead(root, queues); err != nil {
		return err
	}
	fmt.Fprintln(a.stderr, "postern: warning: Mail system is down -- accessing queue directly")
	return a.spool().Scan(queues, fn, func(q string, id queue.ID, err error) {
		fmt.Fprintf(a.stderr, "postern: warning: %s/%s: %v\n", q, id, err)
	})
}

// mayRead checks that the caller can read the queue directories itself.
func mayRead(root string, queues []string) error {
	for _, q := range queues {
		if err := unix.Access(filepath.Join(root, q), unix.R_OK|unix.X_OK); err != nil {
			if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
				return errMailDown
			}
			return fmt.Errorf("%s: %w", filepath.Join(root, q), err)
		}
	}
	return nil
}

// mayChange checks that the caller can change the queue directories:
// root or mail_owner (or, in a sandbox, the user who owns it). Reading a
// message (queue show) asks the same: it is not for every user's eyes.
func mayChange(root string, queues []string) error {
	for _, q := range queues {
		dir := filepath.Join(root, q)
		if err := unix.Access(dir, unix.R_OK|unix.W_OK|unix.X_OK); err != nil {
			if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
				return fmt.Errorf("permission denied: this needs root or mail_owner (%s is not writable by uid %d)", dir, os.Geteuid())
			}
			return fmt.Errorf("%s: %w", dir, err)
		}
	}
	return nil
}

func (a *app) spool() *queue.Spool { return queue.Open(a.cfg.QueueDirectory, a.clock) }
