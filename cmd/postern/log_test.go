package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// sampleLog is a mail log with two sessions from the same client
// interleaved in one smtpd, a message that bounces (its notification
// delivered under its own ID), and lines of other messages between.
const sampleLog = `Dec  7 05:00:00 mail postern/smtpd[100]: connect from localhost[127.0.0.1]
Dec  7 05:00:00 mail postern/smtpd[100]: connect from client.example[192.0.2.7]
Dec  7 05:00:01 mail postern/smtpd[200]: connect from client.example[192.0.2.7]
Dec  7 05:00:01 mail postern/smtpd[100]: 1J0UG67L94S6LET3: client=client.example[192.0.2.7]
Dec  7 05:00:01 mail postern/smtpd[200]: 1J0UG67L94S6OTHR: client=client.example[192.0.2.7], sasl_method=PLAIN
Dec  7 05:00:01 mail postern/smtpd[100]: 1J0UG67L94S6LET3: message-id=<a@client.example>
Dec  7 05:00:01 mail postern/qmgr[300]: 1J0UG67L94S6LET3: from=<alice@example.org>, size=300, nrcpt=1 (queue active)
Dec  7 05:00:01 mail postern/qmgr[300]: 1J0UG67L94S6OTHR: from=<bob@example.org>, size=300, nrcpt=1 (queue active)
Dec  7 05:00:02 mail postern/smtpd[200]: disconnect from client.example[192.0.2.7] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5
Dec  7 05:00:02 mail postern/smtpd[100]: disconnect from localhost[127.0.0.1] ehlo=1 quit=1 commands=2
Dec  7 05:00:02 mail postern/smtpd[100]: disconnect from client.example[192.0.2.7] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5
Dec  7 05:00:03 mail postern/smtp[400]: 1J0UG67L94S6LET3: to=<x@remote.test>, relay=mx.remote.test[192.0.2.9]:25, delay=2, delays=1/0/0.5/0.5, dsn=5.1.1, status=bounced (host said: 550 no)
Dec  7 05:00:03 mail postern/qmgr[300]: 1J0UG67L94S6LET3: sender non-delivery notification: 1J0UG6A000000BNC
Dec  7 05:00:03 mail postern/qmgr[300]: warning: 1J0UG67L94S6LET3: something odd
Dec  7 05:00:03 mail postern/qmgr[300]: 1J0UG67L94S6LET3: removed
Dec  7 05:00:03 mail postern/qmgr[300]: 1J0UG6A000000BNC: from=<>, size=900, nrcpt=1 (queue active)
Dec  7 05:00:04 mail postern/local[500]: 1J0UG6A000000BNC: to=<alice@example.org>, relay=local, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (delivered to maildir)
Dec  7 05:00:04 mail postern/qmgr[300]: 1J0UG6A000000BNC: removed
Dec  7 05:00:05 mail postern/qmgr[300]: 1J0UG67L94S6OTHR: removed
`

func TestCollate(t *testing.T) {
	grep := func(words ...string) []string {
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(sampleLog), "\n") {
			for _, w := range words {
				if strings.Contains(l, w) {
					out = append(out, l)
					break
				}
			}
		}
		return out
	}
	for _, c := range []struct {
		id   string
		want []string
	}{
		{"1J0UG67L94S6LET3", append([]string{
			"Dec  7 05:00:00 mail postern/smtpd[100]: connect from client.example[192.0.2.7]"},
			grep("1J0UG67L94S6LET3", "smtpd[100]: disconnect from client.example", "1J0UG6A000000BNC")...)},
		{"1J0UG67L94S6OTHR", grep("smtpd[200]", "1J0UG67L94S6OTHR")},
		{"1J0UG6A000000BNC", grep("1J0UG6A000000BNC")},
	} {
		var got []string
		col := newCollator(c.id, func(l string) { got = append(got, l) })
		for _, l := range strings.Split(sampleLog, "\n") {
			col.feed(l)
		}
		if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("%s:\n%s\nwant\n%s", c.id, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
		}
	}
}

func TestParseLogLine(t *testing.T) {
	for _, c := range []struct{ in, proc, msg string }{
		{"Dec  7 05:00:00 mail postern/smtpd[100]: connect from x[1.2.3.4]", "postern/smtpd[100]", "connect from x[1.2.3.4]"},
		{"2026-12-07T05:00:00.123456+00:00 mail postern/qmgr[7]: ID: removed\n", "postern/qmgr[7]", "ID: removed"},
		{"postern/qmgr[7]: ID: removed", "postern/qmgr[7]", "ID: removed"},
		{"Dec  7 05:00:00 mail postern/qmgr[7]:", "postern/qmgr[7]", ""},
		{"Dec  7 05:00:00 mail kernel: [123.4]: x", "", ""},
		{"", "", ""},
	} {
		l, ok := parseLogLine(c.in)
		if ok != (c.proc != "") || l.proc != c.proc || l.msg != c.msg {
			t.Errorf("%q: %+v %v, want %q %q", c.in, l, ok, c.proc, c.msg)
		}
	}
}

// TestLogCommand: postern log reads maillog_file (or -l), prints the
// message's lines, and fails when there are none.
func TestLogCommand(t *testing.T) {
	e := newTestEnv(t, "")
	logFile := e.write(t, "maillog", sampleLog, 0o644)
	if err := os.WriteFile(e.cfg, append(mustRead(t, e.cfg), []byte("maillog_file = \""+logFile+"\"\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	out := mustPostern(t, "-c", e.cfg, "log", "1j0ug6a000000bnc")
	if n := strings.Count(out, "\n"); n != 4 || !strings.Contains(out, "status=sent (delivered to maildir)") {
		t.Errorf("%d lines:\n%s", n, out)
	}
	out2 := mustPostern(t, "log", "-l", logFile, "1J0UG6A000000BNC")
	if out2 != out {
		t.Errorf("-l: %q, want %q", out2, out)
	}
	if _, errs, code := postern("-c", e.cfg, "log", "1J0UG6A00000NONE"); code != 1 || !strings.Contains(errs, "no line of 1J0UG6A00000NONE in "+logFile) {
		t.Errorf("unknown ID: exit %d, %q", code, errs)
	}
	for _, args := range [][]string{{"log"}, {"log", "not-an-id"}, {"log", "1J0UG6A000000BNC", "extra"}} {
		if out, errs, code := postern(append([]string{"-c", e.cfg}, args...)...); code != 2 || out != "" || !strings.Contains(errs, "usage: postern log") {
			t.Errorf("%q: exit %d, %q %q", args, code, out, errs)
		}
	}
	// Standard input.
	var stdout, stderr bytes.Buffer
	a := &app{stdin: strings.NewReader(sampleLog), stdout: &stdout, stderr: &stderr}
	if code := runWith(a, []string{"log", "-l", "-", "1J0UG6A000000BNC"}); code != 0 || stdout.String() != out {
		t.Errorf("-l -: exit %d, %q %q", code, stdout.String(), stderr.String())
	}
}

func TestLogFileChoice(t *testing.T) {
	for _, c := range []struct{ set, want string }{
		{`maillog_file = "-"`, "standard error"},
		{`maillog_file = ""`, "syslog"},
	} {
		e := newTestEnv(t, c.set+"\n")
		_, errs, code := postern("-c", e.cfg, "log", "1J0UG6A000000BNC")
		if _, err := os.Stat(defaultSyslogFile); err == nil && c.set == `maillog_file = ""` {
			continue // this machine has one: it is read
		}
		if code != 1 || !strings.Contains(errs, c.want) || !strings.Contains(errs, "postern log -l -") {
			t.Errorf("%s: exit %d, %q", c.set, code, errs)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// syncLines collects fed lines from the follower's goroutine.
type syncLines struct {
	mu    sync.Mutex
	lines []string
}

func (s *syncLines) add(l string) { s.mu.Lock(); s.lines = append(s.lines, l); s.mu.Unlock() }

func (s *syncLines) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		got := append([]string(nil), s.lines...)
		s.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLogTailFollow: -f sees lines appended, a line written in two
// parts as one, and the lines of a new file after a rotation, including
// those written to the old file just before it was renamed.
func TestLogTailFollow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "maillog")
	if err := os.WriteFile(path, []byte("one\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var got syncLines
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	tail := &logTail{path: path, follow: true, poll: 10 * time.Millisecond}
	go func() { done <- tail.run(ctx, got.add) }()

	appendTo := func(p, s string) {
		f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(s)
		f.Close()
	}
	got.wait(t, 1)
	appendTo(path, "tw")
	time.Sleep(30 * time.Millisecond)
	appendTo(path, "o\nthree\n")
	got.wait(t, 3)
	// Rotation: a last line to the old file, rename, a new file.
	appendTo(path, "four\n")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendTo(path, "five\n")
	lines := got.wait(t, 5)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Join(lines, ",") != "one,two,three,four,five" {
		t.Errorf("lines %q", lines)
	}
}

// TestCollateSessions: a session's disconnect line written after the
// same client's next connect still goes to the right session, and a
// session with two messages is the session of both.
func TestCollateSessions(t *testing.T) {
	const log = `p[1]: connect from c[1] #1
p[1]: 000000000000000A: client=c[1]
p[1]: 000000000000000B: client=c[1]
p[1]: connect from c[1] #2
p[1]: disconnect from c[1] #1
p[1]: 000000000000000C: client=c[1]
p[1]: disconnect from c[1] #2
p[1]: disconnect from c[1] #3, before the log
`
	for id, want := range map[string]string{
		"000000000000000A": "p[1]: connect from c[1] #1|p[1]: 000000000000000A: client=c[1]|p[1]: disconnect from c[1] #1",
		"000000000000000B": "p[1]: connect from c[1] #1|p[1]: 000000000000000B: client=c[1]|p[1]: disconnect from c[1] #1",
		"000000000000000C": "p[1]: connect from c[1] #2|p[1]: 000000000000000C: client=c[1]|p[1]: disconnect from c[1] #2",
	} {
		var got []string
		col := newCollator(id, func(l string) { got = append(got, l) })
		for _, l := range strings.Split(log, "\n") {
			col.feed(l)
		}
		if strings.Join(got, "|") != want {
			t.Errorf("%s: %q\nwant %q", id, strings.Join(got, "|"), want)
		}
	}
}
