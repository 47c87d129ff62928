package smtp

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"postern.dev/postern/libmail/queue"
)

// nexthopOf is the [127.0.0.1]:port nexthop of a fake server: no DNS.
func nexthopOf(s *fakeServer) string { return fmt.Sprintf("[127.0.0.1]:%d", s.port) }

// TestPipelinedTransaction pins the dialogue of one delivery: MAIL,
// every RCPT and DATA in one write, the message byte for byte, the
// results recorded and the entry removed, and the log lines.
func TestPipelinedTransaction(t *testing.T) {
	s := newFakeServer(t, "PIPELINING", "SIZE 10240000", "8BITMIME", "ENHANCEDSTATUSCODES")
	e := newTestEnv(t, envOptions{})
	id := e.enqueue(queue.Envelope{Sender: "sender@example.org", Body: "8BITMIME"}, testMessage, "a@example.net", "b@example.net")
	rep := e.handle(id, nexthopOf(s), true, 0, 1)
	checkResults(t, rep, want{"sent", "2.0.0", "250 2.0.0 Ok: queued as Q0"}, want{"sent", "2.0.0", "250 2.0.0 Ok: queued as Q0"})
	if !rep.Removed || rep.Unreachable || e.exists(id) {
		t.Errorf("removed %v unreachable %v, entry exists %v", rep.Removed, rep.Unreachable, e.exists(id))
	}
	relay := fmt.Sprintf("127.0.0.1[127.0.0.1]:%d", s.port)
	if rep.Results[0].Relay != relay {
		t.Errorf("relay %q, want %q", rep.Results[0].Relay, relay)
	}
	size := len(testMessage)
	wantDialogue := []string{
		"S: 220 fake.example.test ESMTP",
		"C: EHLO mail.example.test",
		"S: 250-fake.example.test", "S: 250-PIPELINING", "S: 250-SIZE 10240000", "S: 250-8BITMIME", "S: 250 ENHANCEDSTATUSCODES",
		fmt.Sprintf("C: MAIL FROM:<sender@example.org> SIZE=%d BODY=8BITMIME", size),
		"S: 250 2.1.0 Ok",
		"C: RCPT TO:<a@example.net>", "S: 250 2.1.5 Ok",
		"C: RCPT TO:<b@example.net>", "S: 250 2.1.5 Ok",
		"C: DATA", "S: 354 End data with <CR><LF>.<CR><LF>",
		fmt.Sprintf("C: <%d bytes>", size+3), "C: .",
		"S: 250 2.0.0 Ok: queued as Q0",
		"C: QUIT", // the connection cache is off
		"S: 221 2.0.0 Bye",
	}
	s.waitFor(t, "S: 221 2.0.0 Bye")
	if got := s.Dialogue(); !slices.Equal(got, wantDialogue) {
		t.Errorf("dialogue:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantDialogue, "\n"))
	}
	writes := e.dialer.conns[0].Writes()
	group := fmt.Sprintf("MAIL FROM:<sender@example.org> SIZE=%d BODY=8BITMIME\r\nRCPT TO:<a@example.net>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n", size)
	if len(writes) < 2 || writes[1] != group {
		t.Errorf("writes %q, want the pipelined group %q as the second", writes, group)
	}
	if msgs := s.Msgs(); len(msgs) != 1 || string(msgs[0]) != testMessage {
		t.Errorf("server received %q, want %q", msgs, testMessage)
	}
	if raw := string(s.Raw()[0]); !strings.Contains(raw, "\r\n..A line with a dot.\r\n...two dots\r\n..\r\nlast") {
		t.Errorf("not dot-stuffed: %q", raw)
	}
	re := regexp.MustCompile(`smtp\[\d+\]: ` + string(id) + `: to=<a@example\.net>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+, dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok: queued as Q0\)`)
	if !re.MatchString(e.log.String()) || !strings.Contains(e.log.String(), string(id)+": removed") {
		t.Errorf("log:\n%s", e.log.String())
	}
}

// TestManyRecipientsSomeRejected: 50 recipients in one request, 10 of
// them refused at RCPT.
func TestManyRecipientsSomeRejected(t *testing.T) {
	s := newFakeServer(t, "PIPELINING", "ENHANCEDSTATUSCODES")
	s.reply = func(verb, arg string) string {
		if verb == "RCPT" && strings.HasPrefix(arg, "TO:<user4") {
			return "550 5.1.1 <" + strings.TrimSuffix(strings.TrimPrefix(arg, "TO:<"), ">") + ">: Recipient address rejected: User unknown"
		}
		return ""
	}
	e := newTestEnv(t, envOptions{})
	rcpts := rcptList(50, "example.net")
	id := e.enqueue(queue.Envelope{Sender: "sender@example.org"}, testMessage, rcpts...)
	rep := e.handle(id, nexthopOf(s), true, seq(50)...)
	var sent, failed int
	for _, r := range rep.Results {
		switch {
		case r.Status == "sent":
			sent++
		case r.Status == "failed" && r.DSN == "5.1.1" && strings.HasPrefix(r.Reply, "550 5.1.1 <user4"):
			failed++
		default:
			t.Errorf("result %+v", r)
		}
	}
	if sent != 40 || failed != 10 {
		t.Errorf("%d sent, %d failed", sent, failed)
	}
	if rep.Removed || !e.exists(id) {
		t.Error("entry removed with failed recipients")
	}
	ent := e.read(queue.Active, id)
	for i, st := range ent.State {
		if st.Status == queue.Pending {
			t.Errorf("recipient %d: no result recorded", i)
		}
	}
	if s.Conns() != 1 || len(s.Msgs()) != 1 || len(s.Rcpts()[0]) != sent {
		t.Errorf("%d connections, %d messages", s.Conns(), len(s.Msgs()))
	}
	if !strings.Contains(e.log.String(), "status=bounced (host 127.0.0.1[127.0.0.1]:") || !strings.Contains(e.log.String(), "(in reply to RCPT TO command))") {
		t.Errorf("log:\n%s", e.log.String())
	}
}
