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
// process serves many sessions at once, so sessions are told apart by
// process and client only. A message's "ID: client=CLIENT" line belongs
// to the latest session of that client in that process that has had no
// message yet, or else (a second message in one session) to its latest
// session; a "disconnect from CLIENT" line ends the oldest one. That is
// exact for sessions that do not overlap, and for a session whose
// disconnect line is written just after the client's next connect. Two
// sessions of one client at the same moment may be told apart wrongly:
// their lines read the same but for the time and the command counts.
type collator struct {
	ids      map[string]bool       // the message's queue IDs and its notifications'
	sessions map[string][]*session // open smtpd sessions by process and client, oldest first
	emit     func(line string)
	matched  int
}

// session is one smtpd session of the log.
type session struct {
	connect string // its connect line; "" if it began before the log
	claimed bool   // a message came in it
	ours    bool   // one of the collated messages came in it
}

func newCollator(id string, emit func(string)) *collator {
	return &collator{ids: map[string]bool{id: true}, sessions: map[string][]*session{}, emit: emit}
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
	if rest, ok := strings.CutPrefix(msg, "connect from "); ok {
		client, _, _ := strings.Cut(rest, " ")
		key := l.proc + " " + client
		c.sessions[key] = append(c.sessions[key], &session{connect: line})
		return
	}
	if rest, ok := strings.CutPrefix(msg, "disconnect from "); ok {
		client, _, _ := strings.Cut(rest, " ")
		key := l.proc + " " + client
		ss := c.sessions[key]
		if len(ss) == 0 {
			return // it began before the log
		}
		if len(ss) == 1 {
			delete(c.sessions, key)
		} else {
			c.sessions[key] = ss[1:]
		}
		if ss[0].ours {
			c.out(line)
		}
		return
	}
	id, rest, ok := strings.Cut(msg, ": ")
	if !ok {
		return
	}
	if v, ok := strings.CutPrefix(rest, "client="); ok {
		// Postfix may add ", sasl_method=..." after the client.
		client, _, _ := strings.Cut(v, ",")
		s := c.session(l.proc + " " + client)
		if c.ids[id] && !s.ours {
			s.ours = true
			if s.connect != "" {
				c.out(s.connect)
			}
		}
	}
	if !c.ids[id] {
		// The line of another message that names one of ours as its
		// notification.
		if _, n, ok := strings.Cut(rest, "notification: "); ok && c.ids[strings.TrimSpace(n)] {
			c.out(line)
		}
		return
	}
	c.out(line)
	if _, n, ok := strings.Cut(rest, "notification: "); ok {
		if n = strings.TrimSpace(n); queue.Valid(n) {
			c.ids[n] = true
		}
	}
}

// session returns the session a message's client= line belongs to:
// the latest one of key without a message, else the latest one, else a
// new one that began before the log.
func (c *collator) session(key string) *session {
	ss := c.sessions[key]
	for i := len(ss) - 1; i >= 0; i-- {
		if !ss[i].claimed {
			ss[i].claimed = true
			return ss[i]
		}
	}
	if len(ss) > 0 {
		return ss[len(ss)-1]
	}
	s := &session{claimed: true}
	c.sessions[key] = []*session{s}
	return s
}
