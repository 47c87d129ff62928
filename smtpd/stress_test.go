package smtpd

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// dialGreeted connects to addr and waits up to wait for the greeting,
// returning how long it took.
func dialGreeted(t *testing.T, addr string, wait time.Duration) (*dialogue, time.Duration) {
	t.Helper()
	start := time.Now()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	d := &dialogue{t: t, c: c, r: bufio.NewReader(c)}
	c.SetReadDeadline(time.Now().Add(wait))
	line, err := d.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "220 ") {
		t.Fatalf("no greeting within %s: %q, %v", wait, line, err)
	}
	return d, time.Since(start)
}

// closedWith reads what the server sends before it closes d's
// connection, up to wait, and reports whether the last line starts with
// prefix.
func closedWith(d *dialogue, prefix string, wait time.Duration) (string, bool) {
	d.c.SetReadDeadline(time.Now().Add(wait))
	var last string
	for {
		line, err := d.r.ReadString('\n')
		if err != nil {
			return last, err.Error() == "EOF" && strings.HasPrefix(last, prefix)
		}
		last = strings.TrimRight(line, "\r\n")
	}
}

// TestIdleEvictedUnderLoad: with the connection limit filled by idle
// clients, a new client is greeted at once, because the longest-idle
// session without a transaction is closed with 421 to make room, and its
// mail is accepted; a session in the middle of a transaction, although
// idle longer, is left alone and completes its message.
func TestIdleEvictedUnderLoad(t *testing.T) {
	const limit = 20
	srv, spool := testServer(t, "smtpd_process_connection_limit = 20\n")
	addr := serveTest(t, srv)

	busy, _ := dialGreeted(t, addr, 5*time.Second)
	busy.send("EHLO busy.example\r\nMAIL FROM:<busy@example.org>\r\nRCPT TO:<demo@example.test>\r\n")
	busy.expect("250-")
	busy.expect("250 ")
	busy.expect("250 ")
	var idle []*dialogue
	for range limit - 1 {
		d, _ := dialGreeted(t, addr, 5*time.Second)
		d.send("EHLO idle.example\r\n")
		d.expect("250-")
		idle = append(idle, d)
		time.Sleep(5 * time.Millisecond) // a clear order of idleness
	}

	// The bound is 10 s; closing an idle session takes far less.
	d, took := dialGreeted(t, addr, 10*time.Second)
	t.Logf("greeted after %s with %d connections open", took, limit)
	d.send("EHLO new.example\r\nMAIL FROM:<new@example.org>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n")
	d.expect("250-")
	d.expect("250 ")
	d.expect("250 ")
	d.expect("354 ")
	d.send("Subject: newcomer\r\n\r\nhello\r\n.\r\nQUIT\r\n")
	d.expect("250 2.0.0 Ok: queued as ")
	d.expect("221 ")

	// The longest-idle session without a transaction made room.
	if last, ok := closedWith(idle[0], "421 4.7.0 ", 5*time.Second); !ok {
		t.Errorf("longest-idle session: last line %q, want 421 4.7.0 and close", last)
	}
	// The session with a transaction, idle longer, finishes its message.
	busy.send("DATA\r\n")
	busy.expect("354 ")
	busy.send("Subject: busy\r\n\r\nstill here\r\n.\r\n")
	busy.expect("250 2.0.0 Ok: queued as ")
	if got := queuedSubjects(t, spool); got != "busy\nnewcomer\n" {
		t.Errorf("queued %q", got)
	}
}

// TestStressTimeout: when the limit is reached and no session can be
// closed (each has a transaction), the stress timeout applies to the
// sessions already waiting, so they end, and a new client is greeted,
// within smtpd_stress_timeout rather than smtpd_timeout.
func TestStressTimeout(t *testing.T) {
	srv, _ := testServer(t, "smtpd_process_connection_limit = 3\nsmtpd_stress_timeout = \"1s\"\n")
	addr := serveTest(t, srv)
	var busy []*dialogue
	for range 3 {
		d, _ := dialGreeted(t, addr, 5*time.Second)
		d.send("EHLO busy.example\r\nMAIL FROM:<busy@example.org>\r\n")
		d.expect("250-")
		d.expect("250 ")
		busy = append(busy, d)
	}
	_, took := dialGreeted(t, addr, 10*time.Second)
	t.Logf("greeted after %s", took)
	if took < 500*time.Millisecond {
		t.Errorf("greeted after %s: a session with a transaction was closed to make room", took)
	}
	for i, d := range busy {
		if last, ok := closedWith(d, "421 4.4.2 ", 5*time.Second); !ok {
			t.Errorf("session %d: last line %q, want 421 4.4.2 timeout and close", i, last)
		}
	}
}

// TestStressErrorLimit: under stress one error ends a session
// (smtpd_stress_hard_error_limit, Postfix's ${stress?{1}:{20}}); without
// it a client gets smtpd_hard_error_limit errors.
func TestStressErrorLimit(t *testing.T) {
	srv, _ := testServer(t, "smtpd_process_connection_limit = 2\n")
	addr := serveTest(t, srv)
	d, _ := dialGreeted(t, addr, 5*time.Second)
	d.send("JUNK\r\n")
	d.expect("502 ")
	d.send("NOOP\r\n")
	d.expect("250 ")
	// The second connection reaches the limit: stress begins.
	d2, _ := dialGreeted(t, addr, 5*time.Second)
	d2.send("JUNK\r\n")
	d2.expect("502 ")
	if last, ok := closedWith(d2, "421 4.7.0 ", 5*time.Second); !ok {
		t.Errorf("under stress, after one error: last line %q, want 421 4.7.0 and close", last)
	}
}
