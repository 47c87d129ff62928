package maillog

import (
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// Logger writes mail log lines for one program. It is safe for concurrent
// use. The zero value is not usable; use New, Discard or ForTest.
type Logger struct {
	out     io.Writer
	mu      *sync.Mutex // guards out for sinks that need it (syslog reconnects)
	prog    string      // "postern/smtpd"
	pid     int
	host    string
	now     func() time.Time
	syslog  bool // out is a syslog datagram socket: RFC 3164 framing
	pri     int  // syslog facility*8, added to each severity
	verbose bool
}

// Options say where and how a Logger writes.
type Options struct {
	File     string // "" means syslog (standard error if there is none); "-" standard error; else a file to append to
	Name     string // syslog_name: "postern"
	Program  string // "smtpd"
	Facility string // syslog facility name, "mail" by default
	Hostname string
	Verbose  bool
	Now      func() time.Time
	Stderr   io.Writer // standard error; os.Stderr when nil
}

// New returns a Logger as the options say. A file that cannot be opened
// is an error; a missing syslog socket falls back to standard error, so a
// container without syslog still has a log.
func New(o Options) (*Logger, error) {
	l := &Logger{mu: new(sync.Mutex), prog: o.Name + "/" + o.Program, pid: os.Getpid(), host: shortHost(o.Hostname), now: o.Now, verbose: o.Verbose}
	if o.Name == "" {
		l.prog = "postern/" + o.Program
	}
	if l.now == nil {
		l.now = time.Now
	}
	stderr := o.Stderr
	if stderr == nil {
		stderr = os.Stderr
	}
	switch o.File {
	case "-":
		l.out = stderr
	case "":
		c, err := net.Dial("unixgram", "/dev/log")
		if err != nil {
			l.out = stderr
			break
		}
		fac, ok := facilities[o.Facility]
		if !ok {
			fac = facilities["mail"]
		}
		l.out, l.syslog, l.pri = c, true, fac*8
	default:
		f, err := os.OpenFile(o.File, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return nil, fmt.Errorf("open mail log: %w", err)
		}
		l.out = f
	}
	return l, nil
}

// ForWriter returns a Logger that writes file-format lines to w: for tests
// and for daemons whose standard error the master made the log file.
func ForWriter(w io.Writer, program, hostname string, now func() time.Time) *Logger {
	if now == nil {
		now = time.Now
	}
	return &Logger{out: w, mu: new(sync.Mutex), prog: "postern/" + program, pid: os.Getpid(), host: shortHost(hostname), now: now}
}

// Discard returns a Logger that writes nothing.
func Discard() *Logger { return ForWriter(io.Discard, "discard", "localhost", nil) }

// With returns a Logger for another program name sharing the same output,
// for a child role inside one process.
func (l *Logger) With(program string) *Logger {
	c := *l
	if i := strings.IndexByte(c.prog, '/'); i >= 0 {
		c.prog = c.prog[:i+1] + program
	}
	return &c
}

// Verbose reports whether debug lines are written.
func (l *Logger) Verbose() bool { return l.verbose }

const (
	sevErr     = 3
	sevWarning = 4
	sevInfo    = 6
	sevDebug   = 7
)

// Info logs an event: "ID: to=<...>, status=sent (...)".
func (l *Logger) Info(format string, args ...any) { l.write(sevInfo, "", format, args) }

// Warn logs a problem the program works around: "warning: ...".
func (l *Logger) Warn(format string, args ...any) { l.write(sevWarning, "warning: ", format, args) }

// Error logs a problem that stops an operation: "error: ...".
func (l *Logger) Error(format string, args ...any) { l.write(sevErr, "error: ", format, args) }

// Fatal logs why the program is about to exit: "fatal: ...". The caller
// exits; a logger does not end processes.
func (l *Logger) Fatal(format string, args ...any) { l.write(sevErr, "fatal: ", format, args) }

// Debug logs detail only when the program runs verbose (-v).
func (l *Logger) Debug(format string, args ...any) {
	if l.verbose {
		l.write(sevDebug, "", format, args)
	}
}

func (l *Logger) write(sev int, prefix, format string, args []any) {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	// A log line is one line, whatever a client put in its HELO.
	msg = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, msg)
	ts := l.now().Format(time.Stamp)
	var line string
	if l.syslog {
		line = fmt.Sprintf("<%d>%s %s[%d]: %s%s", l.pri+sev, ts, l.prog, l.pid, prefix, msg)
	} else {
		line = fmt.Sprintf("%s %s %s[%d]: %s%s\n", ts, l.host, l.prog, l.pid, prefix, msg)
	}
	l.mu.Lock()
	l.out.Write([]byte(line))
	l.mu.Unlock()
}

// shortHost is the first label of the hostname, as syslog writes it.
func shortHost(h string) string {
	if h == "" {
		h, _ = os.Hostname()
	}
	if i := strings.IndexByte(h, '.'); i > 0 {
		return h[:i]
	}
	return h
}

var facilities = map[string]int{
	"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
	"uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23,
}
