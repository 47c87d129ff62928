package smtp

import (
	"slices"
	"strings"
	"testing"

	"postern.dev/postern/libmail/queue"
)

func TestRcptTemporaryFailureDeferred(t *testing.T) {
	s := newFakeServer(t, "PIPELINING")
	s.reply = func(verb, arg string) string {
		if verb == "RCPT" && strings.Contains(arg, "grey@") {
			return "450 4.2.0 <grey@example.net>: Recipient address rejected: Greylisted"
		}
		return ""
	}
	e := newTestEnv(t, envOptions{})
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "ok@example.net", "grey@example.net")
	rep := e.handle(id, nexthopOf(s), true, 0, 1)
	checkResults(t, rep, want{"sent", "2.0.0", "250 2.0.0 Ok"}, want{"deferred", "4.2.0", "450 4.2.0 <grey@example.net>"})
	if rep.Removed || rep.Unreachable {
		t.Errorf("removed %v unreachable %v", rep.Removed, rep.Unreachable)
	}
	ent := e.read(queue.Active, id)
	if ent.State[0].Status != queue.Sent || ent.State[1].Status != queue.Deferred {
		t.Errorf("recorded %+v", ent.State)
	}
	if !strings.Contains(e.log.String(), "dsn=4.2.0, status=deferred (host 127.0.0.1[127.0.0.1]:") {
		t.Errorf("log:\n%s", e.log.String())
	}
}

func TestDataRejectedAllFailed(t *testing.T) {
	s := newFakeServer(t, "PIPELINING")
	s.reply = func(verb, arg string) string {
		if verb == "END" {
			return "554 5.7.1 Message rejected as spam"
		}
		return ""
	}
	e := newTestEnv(t, envOptions{})
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net", "b@example.net", "c@example.net")
	rep := e.handle(id, nexthopOf(s), true, 0, 1, 2)
	w := want{"failed", "5.7.1", "554 5.7.1 Message rejected as spam"}
	checkResults(t, rep, w, w, w)
	if !strings.Contains(e.log.String(), "(in reply to end of DATA command))") {
		t.Errorf("log:\n%s", e.log.String())
	}
}

func TestDataCommandRejected(t *testing.T) {
	s := newFakeServer(t) // no PIPELINING: one command at a time
	s.reply = func(verb, arg string) string {
		if verb == "DATA" {
			return "451 4.3.0 Try later"
		}
		return ""
	}
	e := newTestEnv(t, envOptions{})
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep := e.handle(id, nexthopOf(s), true, 0)
	checkResults(t, rep, want{"deferred", "4.3.0", "451 4.3.0 Try later"})
}

func TestMailRejected(t *testing.T) {
	s := newFakeServer(t, "PIPELINING")
	s.reply = func(verb, arg string) string {
		if verb == "MAIL" {
			return "553 5.7.1 <s@example.org>: Sender address rejected"
		}
		if verb == "RCPT" {
			return "503 5.5.1 Error: need MAIL command"
		}
		return ""
	}
	e := newTestEnv(t, envOptions{})
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net", "b@example.net")
	rep := e.handle(id, nexthopOf(s), true, 0, 1)
	w := want{"failed", "5.7.1", "553 5.7.1 <s@example.org>: Sender address rejected"}
	checkResults(t, rep, w, w)
	if !strings.Contains(e.log.String(), "(in reply to MAIL FROM command))") {
		t.Errorf("log:\n%s", e.log.String())
	}
}

// TestNoPipelining: without PIPELINING each command waits for its reply.
func TestNoPipelining(t *testing.T) {
	s := newFakeServer(t, "ENHANCEDSTATUSCODES")
	e := newTestEnv(t, envOptions{})
	id := e.enqueue(queue.Envelope{Sender: ""}, testMessage, "a@example.net", "b@example.net")
	rep := e.handle(id, nexthopOf(s), true, 0, 1)
	checkResults(t, rep, want{"sent", "2.0.0", "250"}, want{"sent", "2.0.0", "250"})
	writes := e.dialer.conns[0].Writes()
	wantWrites := []string{"EHLO mail.example.test\r\n", "MAIL FROM:<>\r\n", "RCPT TO:<a@example.net>\r\n", "RCPT TO:<b@example.net>\r\n", "DATA\r\n"}
	if len(writes) < len(wantWrites) || !slices.Equal(writes[:len(wantWrites)], wantWrites) {
		t.Errorf("writes %q", writes)
	}
	if msgs := s.Msgs(); len(msgs) != 1 || string(msgs[0]) != testMessage {
		t.Errorf("received %q", msgs)
	}
}

// TestHeloFallback: a server that refuses EHLO gets HELO and no
// extension parameters.
func TestHeloFallback(t *testing.T) {
	s := newFakeServer(t)
	s.reply = func(verb, arg string) string {
		if verb == "EHLO" {
			return "502 5.5.2 Error: command not recognized"
		}
		return ""
	}
	e := newTestEnv(t, envOptions{})
	id := e.enqueue(queue.Envelope{Sender: "s@example.org", Body: "8BITMIME", EnvID: "x", Ret: "HDRS"}, testMessage, "a@example.net")
	rep := e.handle(id, nexthopOf(s), true, 0)
	checkResults(t, rep, want{"sent", "2.0.0", "250"})
	d := s.Dialogue()
	if !slices.Contains(d, "C: HELO mail.example.test") || !slices.Contains(d, "C: MAIL FROM:<s@example.org>") {
		t.Errorf("dialogue %q", d)
	}
}

// TestDSNParameters: RET, ENVID, NOTIFY and ORCPT go to a DSN server,
// xtext-encoded; SMTPUTF8 when needed and offered.
func TestDSNParameters(t *testing.T) {
	s := newFakeServer(t, "PIPELINING", "DSN", "SMTPUTF8", "8BITMIME")
	e := newTestEnv(t, envOptions{})
	env := queue.Envelope{Sender: "s@example.org", Ret: "HDRS", EnvID: "id+1=x", SMTPUTF8: true,
		Recipients: []queue.Recipient{
			{Addr: "a@example.net", Notify: "SUCCESS,FAILURE", ORcpt: "rfc822;a+x@example.net"},
			{Addr: "jörg@example.net", Notify: "NEVER"},
		}}
	id := e.enqueue(env, testMessage)
	rep := e.handle(id, nexthopOf(s), true, 0, 1)
	checkResults(t, rep, want{"sent", "2.0.0", "250"}, want{"sent", "2.0.0", "250"})
	d := s.Dialogue()
	for _, line := range []string{
		"C: MAIL FROM:<s@example.org> SMTPUTF8 RET=HDRS ENVID=id+2B1+3Dx",
		"C: RCPT TO:<a@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Bx@example.net",
		"C: RCPT TO:<jörg@example.net> NOTIFY=NEVER",
	} {
		if !slices.Contains(d, line) {
			t.Errorf("dialogue lacks %q:\n%s", line, strings.Join(d, "\n"))
		}
	}
}

func TestNoDSNParametersWithoutDSN(t *testing.T) {
	s := newFakeServer(t, "PIPELINING")
	e := newTestEnv(t, envOptions{})
	env := queue.Envelope{Sender: "s@example.org", Ret: "FULL", EnvID: "abc",
		Recipients: []queue.Recipient{{Addr: "a@example.net", Notify: "NEVER", ORcpt: "rfc822;a@example.net"}}}
	id := e.enqueue(env, testMessage)
	e.handle(id, nexthopOf(s), true, 0)
	d := s.Dialogue()
	if !slices.Contains(d, "C: MAIL FROM:<s@example.org>") || !slices.Contains(d, "C: RCPT TO:<a@example.net>") {
		t.Errorf("dialogue:\n%s", strings.Join(d, "\n"))
	}
}

func TestSizeExceeded(t *testing.T) {
	s := newFakeServer(t, "PIPELINING", "SIZE 100")
	e := newTestEnv(t, envOptions{})
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage+strings.Repeat("x", 100)+"\r\n", "a@example.net")
	rep := e.handle(id, nexthopOf(s), true, 0)
	checkResults(t, rep, want{"failed", "5.3.4", "exceeds size limit 100 of server 127.0.0.1[127.0.0.1]:"})
	if slices.ContainsFunc(s.Dialogue(), func(l string) bool { return strings.HasPrefix(l, "C: MAIL") }) {
		t.Error("MAIL sent for an oversized message")
	}
}

func TestSMTPUTF8Missing(t *testing.T) {
	s := newFakeServer(t, "PIPELINING", "8BITMIME")
	e := newTestEnv(t, envOptions{})
	id := e.enqueue(queue.Envelope{Sender: "s@example.org", SMTPUTF8: true}, testMessage, "jörg@example.net")
	rep := e.handle(id, nexthopOf(s), true, 0)
	checkResults(t, rep, want{"failed", "5.6.7", "SMTPUTF8 is required, but was not offered by host 127.0.0.1[127.0.0.1]:"})

	// Only the headers need SMTPUTF8: the envelope is ASCII, and the
	// message goes as it is.
	id = e.enqueue(queue.Envelope{Sender: "s@example.org", SMTPUTF8: true}, testMessage, "joerg@example.net")
	rep = e.handle(id, nexthopOf(s), true, 0)
	checkResults(t, rep, want{"sent", "2.0.0", "250"})
}

// TestTooManyRecipients: recipients refused with 452 go in a second
// transaction on the same connection.
func TestTooManyRecipients(t *testing.T) {
	s := newFakeServer(t, "PIPELINING")
	n := 0
	s.reply = func(verb, arg string) string {
		switch verb {
		case "MAIL":
			n = 0
		case "RCPT":
			if n++; n > 3 {
				return "452 4.5.3 Error: too many recipients"
			}
		}
		return ""
	}
	e := newTestEnv(t, envOptions{})
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, rcptList(8, "example.net")...)
	rep := e.handle(id, nexthopOf(s), true, seq(8)...)
	for _, r := range rep.Results {
		if r.Status != "sent" {
			t.Errorf("result %+v", r)
		}
	}
	if !rep.Removed || s.Conns() != 1 || len(s.Msgs()) != 3 {
		t.Errorf("removed %v, %d connections, %d messages", rep.Removed, s.Conns(), len(s.Msgs()))
	}
}

// TestLostConnection: the server hangs up after DATA; the recipients are
// deferred with Postfix's words.
func TestLostConnection(t *testing.T) {
	s := newFakeServer(t, "PIPELINING")
	s.reply = func(verb, arg string) string {
		if verb == "DATA" {
			return "\x00" // not a reply: the client must give up
		}
		return ""
	}
	e := newTestEnv(t, envOptions{})
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep := e.handle(id, nexthopOf(s), true, 0)
	checkResults(t, rep, want{"deferred", "4.4.2", "protocol error with 127.0.0.1[127.0.0.1]:"})
}
