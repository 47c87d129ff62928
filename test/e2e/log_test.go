package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPosternLog: one message delivered locally and one that bounces
// at the remote MX; `postern log ID` prints the whole life of each from
// the sandbox's mail log: the smtpd session it came in (connect, client=,
// disconnect), its queue lines up to "removed", and, for the bounce, the
// notification and every line of the notification's own delivery. No
// line of the other message gets in.
func TestPosternLog(t *testing.T) {
	sink := NewSink(t)
	sink.Rcpt = func(addr string) string { return "550 5.1.1 <" + addr + ">: no such user here" }
	s, _ := outbound(t, remoteZone, sink.Port)
	submit(t, s, "alice@example.org", []string{"demo@example.test"}, "log-delivered")
	submit(t, s, "demo@example.test", []string{"nobody@remote.test"}, "log-bounced")
	s.WaitMessages("demo@example.test", 2, 20*time.Second) // the first, and the bounce
	s.WaitQueueEmpty(20 * time.Second)

	delivered := queueIDOf(t, s, "log-delivered")
	bounced := queueIDOf(t, s, "log-bounced")
	m := regexp.MustCompile(bounced + `: sender non-delivery notification: ([0-9A-V]{16})`).FindStringSubmatch(s.Log())
	if m == nil {
		t.Fatalf("no notification line for %s:\n%s", bounced, tail(s.Log(), 30))
	}
	notice := m[1]
	for _, id := range []string{delivered, bounced, notice} {
		s.WaitLog(id+": removed", 10*time.Second)
	}
	// The sessions have ended once both messages are in: their
	// disconnect lines are written as the connections close.
	s.WaitLog("disconnect from localhost[127.0.0.1]", 5*time.Second)
	waitCount(t, s, "disconnect from localhost[127.0.0.1]", 2)

	out := s.Postern("log", delivered)
	session := func(id, subject string) []string {
		return []string{"connect from localhost[127.0.0.1]", id + ": client=localhost[127.0.0.1]",
			id + ": message-id=<" + subject + "@client.example>",
			"disconnect from localhost[127.0.0.1] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5"}
	}
	// Each sequence is in the order written; lines of different
	// processes (the session's end and the queue manager's start) may
	// come in either order.
	expectLines(t, out, delivered, session(delivered, "log-delivered"), []string{
		delivered + ": client=localhost[127.0.0.1]",
		delivered + ": from=<alice@example.org>, size=",
		delivered + ": to=<demo@example.test>, relay=local, ",
		delivered + ": removed",
	})
	if n := strings.Count(out, "\n"); n != 7 {
		t.Errorf("postern log %s: %d lines, want 7:\n%s", delivered, n, out)
	}
	if strings.Contains(out, bounced) || strings.Contains(out, notice) {
		t.Errorf("the delivered message's log shows the other one:\n%s", out)
	}

	out = s.Postern("log", strings.ToLower(bounced))
	port := fmt.Sprint(sink.Port)
	expectLines(t, out, bounced, session(bounced, "log-bounced"), []string{
		bounced + ": client=localhost[127.0.0.1]",
		bounced + ": from=<demo@example.test>, size=",
		bounced + ": to=<nobody@remote.test>, relay=mx1.remote.test[127.0.0.1]:" + port + ", ",
		bounced + ": sender non-delivery notification: " + notice,
		bounced + ": removed",
	}, []string{
		"status=bounced (host mx1.remote.test[127.0.0.1]:" + port + " said: 550 5.1.1",
		bounced + ": sender non-delivery notification: " + notice,
		notice + ": from=<>, size=",
		notice + ": to=<demo@example.test>, relay=local, ",
		notice + ": removed",
	})
	if n := strings.Count(out, "\n"); n != 11 {
		t.Errorf("postern log %s: %d lines, want 11:\n%s", bounced, n, out)
	}
	if strings.Contains(out, delivered) {
		t.Errorf("the bounced message's log shows the other one:\n%s", out)
	}

	// The notification asked about on its own: its lines, and the line
	// of the message that caused it.
	out = s.Postern("log", notice)
	expectLines(t, out, notice, []string{
		bounced + ": sender non-delivery notification: " + notice,
		notice + ": from=<>, size=",
		notice + ": removed",
	})
	if n := strings.Count(out, "\n"); n != 4 {
		t.Errorf("postern log %s: %d lines, want 4:\n%s", notice, n, out)
	}

	if out, err := s.PosternErr("log", "0000000000000000"); err == nil || !strings.Contains(out, "no line of 0000000000000000") {
		t.Errorf("an unknown ID: %v\n%s", err, out)
	}
}

// queueIDOf finds the queue ID of the message whose Message-ID is
// <subject@client.example> (as submit writes it) in the mail log.
func queueIDOf(t *testing.T, s *System, subject string) string {
	t.Helper()
	m := regexp.MustCompile(`([0-9A-V]{16}): message-id=<` + regexp.QuoteMeta(subject) + `@client\.example>`).FindStringSubmatch(s.Log())
	if m == nil {
		t.Fatalf("no message-id line for %s:\n%s", subject, tail(s.Log(), 30))
	}
	return m[1]
}

// waitCount waits until the log has n lines containing substr.
func waitCount(t *testing.T, s *System, substr string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(s.Log(), substr) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the log has fewer than %d %q lines:\n%s", n, substr, tail(s.Log(), 30))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// expectLines checks that every line of out is a mail log line, and
// that the lines of each sequence appear in it in that order, each on a
// line of its own.
func expectLines(t *testing.T, out, id string, seqs ...[]string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for _, wants := range seqs {
		expectSeq(t, lines, out, id, wants)
	}
	for _, l := range lines {
		if !strings.Contains(l, " postern/") {
			t.Errorf("postern log %s: %q is not a mail log line", id, l)
		}
	}
}

func expectSeq(t *testing.T, lines []string, out, id string, wants []string) {
	t.Helper()
	i := 0
	for _, w := range wants {
		for i < len(lines) && !strings.Contains(lines[i], w) {
			i++
		}
		if i == len(lines) {
			t.Errorf("postern log %s: no %q (in this order):\n%s", id, w, out)
			return
		}
		i++
	}
}
