package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Mail sent with Python's smtplib lands in demo@example.test's Maildir,
// and Python's email parser reads it with the right trace headers.
func TestSmtplibToMaildir(t *testing.T) {
	s := NewSystem(t, Options{})
	r := sendPython(t, s, "alice@example.org", "demo@example.test", 3, 1, "py")
	if len(r.Accepted) != 3 || len(r.Failed) != 0 {
		t.Fatalf("send: %+v", r)
	}
	s.WaitMessages("demo@example.test", 3, 20*time.Second)
	msgs := readMaildir(t, s, "demo@example.test")
	if len(msgs) != 3 {
		t.Fatalf("%d messages", len(msgs))
	}
	for _, m := range msgs {
		if m.FirstHeader != "Return-Path" || m.ReturnPath != "<alice@example.org>" {
			t.Errorf("%s: first header %q, Return-Path %q", m.File, m.FirstHeader, m.ReturnPath)
		}
		if len(m.DeliveredTo) != 1 || m.DeliveredTo[0] != "demo@example.test" {
			t.Errorf("%s: Delivered-To %q", m.File, m.DeliveredTo)
		}
		if len(m.Received) != 1 {
			t.Fatalf("%s: Received %q", m.File, m.Received)
		}
		rcv := m.Received[0]
		for _, want := range []string{"from client.example (localhost [127.0.0.1])", "by mail.example.test (postern) with ESMTP id ", "for <demo@example.test>;"} {
			if !strings.Contains(rcv, want) {
				t.Errorf("%s: Received %q lacks %q", m.File, rcv, want)
			}
		}
		if !strings.Contains(m.Body, ".leading dot") || !strings.HasPrefix(m.Body, "Body of py-") {
			t.Errorf("%s: body %q", m.File, m.Body)
		}
		if len(m.Defects) > 0 {
			t.Errorf("%s: parser defects %v", m.File, m.Defects)
		}
	}
	// The queue ID in Received: is the one the log used.
	id := strings.Fields(msgs[0].Received[0][strings.Index(msgs[0].Received[0], " id ")+4:])[0]
	s.WaitLog(id+": removed", 5*time.Second)
	for _, want := range []string{id + ": client=localhost[127.0.0.1]", id + ": from=<alice@example.org>, size=",
		id + ": to=<demo@example.test>, relay=local, delay=", "dsn=2.0.0, status=sent (delivered to maildir)"} {
		if !strings.Contains(s.Log(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// swaks, another real client, to an account and to an alias of it.
func TestSwaksToMaildir(t *testing.T) {
	swaks, err := exec.LookPath("swaks")
	if err != nil {
		t.Skip("swaks not installed")
	}
	s := NewSystem(t, Options{})
	for _, to := range []string{"demo@example.test", "postmaster@example.test", "demo+folder@example.test"} {
		out, err := exec.Command(swaks, "--server", s.Addr(25), "--from", "bob@example.org", "--to", to,
			"--header", "Subject: swaks to "+to, "--body", "hello from swaks").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "250 2.0.0 Ok: queued as ") {
			t.Fatalf("swaks to %s: %v\n%s", to, err, out)
		}
	}
	s.WaitMessages("demo@example.test", 3, 20*time.Second)
	got := map[string][]string{}
	for _, m := range readMaildir(t, s, "demo@example.test") {
		got[m.Subject] = m.DeliveredTo
		if m.ReturnPath != "<bob@example.org>" {
			t.Errorf("%s: Return-Path %q", m.Subject, m.ReturnPath)
		}
	}
	for subj, want := range map[string]string{
		"swaks to demo@example.test":        "demo@example.test",
		"swaks to postmaster@example.test":  "demo@example.test",
		"swaks to demo+folder@example.test": "demo+folder@example.test",
	} {
		if d := got[subj]; len(d) != 1 || d[0] != want {
			t.Errorf("%s: Delivered-To %q, want %q", subj, d, want)
		}
	}
	if !strings.Contains(s.Log(), "to=<demo@example.test>, orig_to=<postmaster@example.test>, relay=local") {
		t.Errorf("alias delivery not logged with orig_to\n%s", s.Log())
	}
}

// 1000 messages over 10 concurrent connections: each delivered exactly once.
func TestThousandConcurrent(t *testing.T) {
	s := NewSystem(t, Options{})
	r := sendPython(t, s, "load@example.org", "demo@example.test", 1000, 10, "k")
	if len(r.Accepted) != 1000 {
		t.Fatalf("accepted %d, failed %v", len(r.Accepted), r.Failed)
	}
	s.WaitMessages("demo@example.test", 1000, 60*time.Second)
	s.WaitQueueEmpty(30 * time.Second)
	seen := map[string]int{}
	for _, m := range readMaildir(t, s, "demo@example.test") {
		seen[m.MessageID]++
	}
	for _, id := range r.Accepted {
		switch n := seen["<"+id+"@client.example>"]; n {
		case 1:
		case 0:
			t.Errorf("%s lost", id)
		default:
			t.Errorf("%s delivered %d times", id, n)
		}
	}
	if len(seen) != 1000 {
		t.Errorf("%d distinct messages, want 1000", len(seen))
	}
}

// Relay control and recipient checks answer at RCPT, as Postfix does.
func TestRcptPolicy(t *testing.T) {
	s := NewSystem(t, Options{})
	d := Dial(t, s.Addr(25))
	d.Expect("EHLO client.example", "250")
	d.Expect("MAIL FROM:<a@example.org>", "250")
	d.Expect("RCPT TO:<nobody@example.test>", "550 5.1.1")
	d.Expect("RCPT TO:<x@elsewhere.example>", "250") // loopback is in mynetworks
	d.Expect("RCPT TO:<demo@EXAMPLE.TEST>", "250")
	d.Expect("QUIT", "221")
	s.WaitLog("NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown in local recipient table", 5*time.Second)

	// A client outside mynetworks may not relay.
	s2 := NewSystem(t, Options{Set: []string{"mynetworks=192.0.2.0/24"}})
	d = Dial(t, s2.Addr(25))
	d.Expect("EHLO client.example", "250")
	d.Expect("MAIL FROM:<a@example.org>", "250")
	d.Expect("RCPT TO:<x@elsewhere.example>", "554 5.7.1")
	d.Expect("RCPT TO:<demo@example.test>", "250")
}
