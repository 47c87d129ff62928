package main

import (
	"strings"

	"postern.dev/postern/libmail/queue"
)

// logLine is one mail log line taken apart: the process that wrote it
// ("postern/smtpd[812]") and its message, after the "PROC: ".
type logLine struct {
	proc, msg string
}

// parseLogLine finds the process and message of a syslog-style line,
// whatever comes before the process: "Nov 23 14:32:01 mail" (the file
// syslog and maillog_file write, journalctl's short output), an RFC 3339
// time stamp (rsyslog's precise format), or nothing. The process is the
// first of the first few fields that reads NAME[PID]:.
func parseLogLine(s string) (logLine, bool) {
	s = strings.TrimRight(s, "\r\n")
	rest := s
	for range 6 {
		rest = strings.TrimLeft(rest, " ")
		field, after, ok := strings.Cut(rest, " ")
		if !ok {
			field, after = rest, ""
		}
		if i := strings.IndexByte(field, '['); i > 0 && strings.HasSuffix(field, "]:") {
			return logLine{proc: field[:len(field)-1], msg: after}, true
		}
		if !ok {
			break
		}
		rest = after
	}
	return logLine{}, false
}

// collator picks the lines of one message out of a mail log read in
// order, as Postfix's collate.pl does: the lines that start with its
// queue ID; the connect and disconnect lines of the smtpd session that
// produced it; and, the same way, the lines of every notification it
// caused ("ID: sender non-delivery notification: NEWID" makes NEWID one
// of its messages), with the line that links a notification asked about
// to the message that caused it.
//
// smtpd's connect and disconnect lines carry no queue ID, and one smtpd
// process serves many sessions at once, so the session is found as the
// latest "connect from CLIENT" of the same process before the message's
// "ID: client=CLIENT" line, and the first "disconnect from CLIENT" of that
// process after it. Two sessions from one client at the same moment may
// be told apart wrongly; their lines read the same but for the time.
type collator struct {
	ids      map[string]bool   // the message's queue IDs and its notifications'
	connects map[string]string // latest connect line by process and client
	open     map[string]bool   // sessions (process and client) whose disconnect is ours
	emit     func(line string)
	matched  int
}

func newCollator(id string, emit func(string)) *collator {
	return &collator{ids: map[string]bool{id: true}, connects: map[string]string{}, open: map[string]bool{}, emit: emit}
}

func (c *collator) out(line string) {
	c.matched++
	c.emit(line)
}

// feed takes the next line of the log (without its newline).
func (c *collator) feed(line string) {
	l, ok := parseLogLine(line)
	if !ok {
		return
	}
	msg := l.msg
	for _, p := range []string{"warning: ", "error: ", "fatal: ", "panic: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	if client, ok := strings.CutPrefix(msg, "connect from "); ok {
		c.connects[l.proc+" "+client] = line
		return
	}
	if rest, ok := strings.CutPrefix(msg, "disconnect from "); ok {
		client, _, _ := strings.Cut(rest, " ")
		key := l.proc + " " + client
		delete(c.connects, key)
		if c.open[key] {
			delete(c.open, key)
			c.out(line)
		}
		return
	}
	id, rest, ok := strings.Cut(msg, ": ")
	if !ok {
		return
	}
	if !c.ids[id] {
		// The line of another message that names one of ours as its
		// notification.
		if _, n, ok := strings.Cut(rest, "notification: "); ok && c.ids[strings.TrimSpace(n)] {
			c.out(line)
		}
		return
	}
	if v, ok := strings.CutPrefix(rest, "client="); ok {
		// Postfix may add ", sasl_method=..." after the client.
		client, _, _ := strings.Cut(v, ",")
		key := l.proc + " " + client
		if conn, ok := c.connects[key]; ok {
			delete(c.connects, key)
			c.out(conn)
		}
		c.open[key] = true
	}
	c.out(line)
	if _, n, ok := strings.Cut(rest, "notification: "); ok {
		if n = strings.TrimSpace(n); queue.Valid(n) {
			c.ids[n] = true
		}
	}
}
