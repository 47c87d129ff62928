package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"postern.dev/postern/libmail/queue"
)

const logSynopsis = "QUEUEID [-f] [-l LOGFILE]"

const logHelp = `Print the mail log lines of the message QUEUEID: its own, the connect
and disconnect lines of the smtpd session it came in, and those of the
notifications (bounces, delay warnings) it caused, which follow it
under their own queue IDs. -f keeps reading as the log grows (until
interrupted), and survives the log's rotation.

The log is maillog_file. When the mail log goes to syslog (maillog_file
empty), /var/log/mail.log is read; with the journal only, pipe it in:
journalctl --facility=mail -o short | postern log -l - QUEUEID.`

// defaultSyslogFile is where Debian's rsyslog writes the mail facility.
const defaultSyslogFile = "/var/log/mail.log"

func cmdLog(a *app, args []string) error {
	fs := a.flags("log", logSynopsis, logHelp)
	follow := fs.Bool("f", false, "follow: keep reading as the log grows")
	file := fs.String("l", "", "read this log `file` (- for standard input) instead of maillog_file")
	pos, err := a.parse(fs, args, 1)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("QUEUEID expected")
	}
	id := strings.ToUpper(pos[0])
	if !queue.Valid(id) {
		return usageError(fmt.Sprintf("%q is not a queue ID", pos[0]))
	}
	path := *file
	if path == "" {
		if path, err = a.logFile(); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	w := bufio.NewWriter(a.stdout)
	defer w.Flush()
	c := newCollator(id, func(l string) {
		w.WriteString(l)
		w.WriteByte('\n')
		if *follow {
			w.Flush()
		}
	})
	t := &logTail{path: path, follow: *follow, poll: 250 * time.Millisecond}
	if path == "-" {
		err = t.read(ctx, a.stdin, c.feed)
	} else {
		err = t.run(ctx, c.feed)
	}
	if err != nil {
		return err
	}
	if c.matched == 0 && !*follow {
		return fmt.Errorf("no line of %s in %s", id, path)
	}
	return nil
}

// logFile is where the mail log is, from maillog_file.
func (a *app) logFile() (string, error) {
	if err := a.load(); err != nil {
		return "", err
	}
	switch f := a.cfg.Params.MaillogFile; f {
	case "-":
		return "", errors.New("maillog_file is -: the log goes to the master's standard error (under systemd, the journal: journalctl -u postern -o short | postern log -l - ID)")
	case "":
		if _, err := os.Stat(defaultSyslogFile); err != nil {
			return "", fmt.Errorf("the mail log goes to syslog (facility %s), and %s does not exist: name the file with -l, or pipe in the journal: journalctl --facility=%s -o short | postern log -l - ID",
				a.cfg.Params.SyslogFacility, defaultSyslogFile, a.cfg.Params.SyslogFacility)
		}
		return defaultSyslogFile, nil
	default:
		return f, nil
	}
}

// logTail reads a log file to its end, and with follow keeps reading
// what is appended, like tail -F: when the file is replaced (rotated) or
// truncated, it starts over on the new one.
type logTail struct {
	path   string
	follow bool
	poll   time.Duration
}

func (t *logTail) run(ctx context.Context, feed func(string)) error {
	f, err := os.Open(t.path)
	if err != nil {
		return err
	}
	defer func() { f.Close() }()
	r := bufio.NewReaderSize(f, 64<<10)
	var partial string
	var off int64
	rotated := false
	for {
		line, err := r.ReadString('\n')
		off += int64(len(line))
		if err == nil {
			feed(strings.TrimSuffix(partial+line, "\n"))
			partial = ""
			continue
		}
		if !errors.Is(err, io.EOF) {
			return fmt.Errorf("read %s: %w", t.path, err)
		}
		// A line still being written is kept until its newline comes.
		partial += line
		if !t.follow {
			if partial != "" {
				feed(partial)
			}
			return nil
		}
		if rotated {
			nf, err := os.Open(t.path)
			if err == nil {
				f.Close()
				f, off, partial, rotated = nf, 0, "", false
				r.Reset(f)
				continue
			}
			// Between the rename and the new file: try again.
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(t.poll):
		}
		// The old file is read to its end before the new one is opened,
		// so that the lines written just before the rotation are seen.
		rotated = rotated || t.replaced(f, off)
	}
}

// replaced reports whether the log at path is no longer the open file f
// (rotated: renamed away, a new one in its place) or has been truncated
// below what was read.
func (t *logTail) replaced(f *os.File, off int64) bool {
	cur, err := os.Stat(t.path)
	if err != nil {
		return false
	}
	open, err := f.Stat()
	if err != nil {
		return true
	}
	return !os.SameFile(cur, open) || cur.Size() < off
}

// read feeds the lines of a stream (standard input); following a pipe
// is reading it until it ends.
func (t *logTail) read(ctx context.Context, in io.Reader, feed func(string)) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if ctx.Err() != nil {
			return nil
		}
		feed(sc.Text())
	}
	return sc.Err()
}
