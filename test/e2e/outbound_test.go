package e2e

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"postern.dev/postern/libmail/dns/dnstest"
)

// outbound starts a sandbox whose DNS is a loopback server holding zone
// and whose SMTP client connects to port (the sink's) for every MX.
func outbound(t *testing.T, zone string, port int, set ...string) (*System, *dnstest.Server) {
	t.Helper()
	d := dnstest.New(t, zone)
	set = append([]string{"dns_servers=" + d.Addr(), fmt.Sprintf("smtp_tcp_port=%d", port)}, set...)
	return NewSystem(t, Options{Set: set}), d
}

const remoteZone = `
$ORIGIN remote.test.
@        MX 10 mx1
@        MX 20 mx2
mx1      A 127.0.0.1
mx2      A 127.0.0.1
$ORIGIN other.test.
@        MX 10 mx.other.test.
mx       A 127.0.0.1
`

// submit sends one message with send from sender to rcpts and returns
// the message as sent.
func submit(t *testing.T, s *System, sender string, rcpts []string, subject string) []byte {
	t.Helper()
	msg := []byte("From: <" + sender + ">\r\nTo: <" + rcpts[0] + ">\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + subject + "@client.example>\r\n\r\nHello.\r\n.A line with a leading dot.\r\n\r\nBye.\r\n")
	send(t, s.Addr(25), sender, rcpts, msg)
	return msg
}

// withoutReceived drops the Received: header postern adds at the top.
func withoutReceived(t *testing.T, data []byte) []byte {
	t.Helper()
	if !bytes.HasPrefix(data, []byte("Received: ")) {
		t.Fatalf("relayed message does not start with Received:\n%s", data)
	}
	i := 0
	for {
		j := bytes.Index(data[i:], []byte("\r\n"))
		i += j + 2
		if data[i] != ' ' && data[i] != '\t' {
			return data[i:]
		}
	}
}

// TestOutboundMX: mail for a remote domain goes to its MX, found through
// the loopback DNS, and arrives there byte-identical but for our
// Received: header.
func TestOutboundMX(t *testing.T) {
	sink := NewSink(t)
	s, d := outbound(t, remoteZone, sink.Port)
	sent := submit(t, s, "alice@example.org", []string{"bob@remote.test"}, "outbound-mx")
	tx := sink.Wait(1, 20*time.Second)[0]
	if got := withoutReceived(t, tx.Data); !bytes.Equal(got, sent) {
		t.Errorf("relayed message differs:\n got %q\nwant %q", got, sent)
	}
	if tx.From != "alice@example.org" || strings.Join(tx.Rcpts, ",") != "bob@remote.test" || tx.Helo != "mail.example.test" {
		t.Errorf("envelope %q -> %q, helo %q", tx.From, tx.Rcpts, tx.Helo)
	}
	s.WaitLog("status=sent", 10*time.Second)
	want := fmt.Sprintf("to=<bob@remote.test>, relay=mx1.remote.test[127.0.0.1]:%d, delay=", sink.Port)
	if !strings.Contains(s.Log(), want) {
		t.Errorf("log lacks %q:\n%s", want, tail(s.Log(), 20))
	}
	if !strings.Contains(s.Log(), "dsn=2.0.0, status=sent (250 2.0.0 OK: queued)") {
		t.Errorf("log lacks the sent line:\n%s", tail(s.Log(), 20))
	}
	if d.Queries() == 0 {
		t.Errorf("no DNS queries")
	}
	s.WaitQueueEmpty(10 * time.Second)
}

// TestOutboundDeferAndRetry: a 4xx defers the message, and it is
// retried after the (shortened) backoff and delivered.
func TestOutboundDeferAndRetry(t *testing.T) {
	sink := NewSink(t)
	var mu sync.Mutex
	tries := 0
	sink.Rcpt = func(string) string {
		mu.Lock()
		defer mu.Unlock()
		tries++
		if tries == 1 {
			return "451 4.3.0 try again later"
		}
		return "250 2.1.5 ok"
	}
	// One MX: with two, the second would be offered the recipient the
	// first deferred, as Postfix does.
	s, _ := outbound(t, "$ORIGIN remote.test.\n@ MX 10 mx1\nmx1 A 127.0.0.1\n", sink.Port,
		"minimal_backoff_time=1s", "maximal_backoff_time=2s", "queue_run_delay=1s")
	submit(t, s, "alice@example.org", []string{"bob@remote.test"}, "retry")
	s.WaitLog("status=deferred", 10*time.Second)
	if !strings.Contains(s.Log(), fmt.Sprintf("dsn=4.3.0, status=deferred (host mx1.remote.test[127.0.0.1]:%d said: 451 4.3.0 try again later (in reply to RCPT TO command))", sink.Port)) {
		t.Errorf("log lacks the deferral:\n%s", tail(s.Log(), 20))
	}
	sink.Wait(1, 20*time.Second)
	s.WaitLog("status=sent", 10*time.Second)
	s.WaitQueueEmpty(10 * time.Second)
}

// TestOutboundBounce: a 5xx returns the message to the sender in a DSN
// that Python's email package parses, with the right fields.
func TestOutboundBounce(t *testing.T) {
	sink := NewSink(t)
	sink.Rcpt = func(addr string) string { return "550 5.1.1 <" + addr + ">: no such user here" }
	s, _ := outbound(t, remoteZone, sink.Port)
	submit(t, s, "demo@example.test", []string{"nobody@remote.test"}, "bounce-me")
	s.WaitMessages("demo@example.test", 1, 20*time.Second)
	var reports []dsnReport
	mailtool(t, &reports, "dsns", s.Maildir("demo@example.test"))
	if len(reports) != 1 {
		t.Fatalf("%d DSNs", len(reports))
	}
	r := reports[0]
	if r.ReportType != "delivery-status" || len(r.Parts) != 3 || r.Parts[1] != "message/delivery-status" || len(r.Defects) > 0 {
		t.Errorf("report structure %+v", r)
	}
	if len(r.Recipients) != 1 {
		t.Fatalf("%d recipient blocks", len(r.Recipients))
	}
	rc := r.Recipients[0]
	for field, want := range map[string]string{
		"Final-Recipient": "rfc822; nobody@remote.test",
		"Action":          "failed",
		"Status":          "5.1.1",
		"Remote-MTA":      "dns; mx1.remote.test",
		"Diagnostic-Code": "smtp; 550 5.1.1 <nobody@remote.test>: no such user here",
	} {
		if rc[field] != want {
			t.Errorf("%s: %q, want %q", field, rc[field], want)
		}
	}
	if !strings.HasPrefix(r.PerMessage["Reporting-MTA"], "dns; mail.example.test") {
		t.Errorf("Reporting-MTA %q", r.PerMessage["Reporting-MTA"])
	}
	if !strings.Contains(s.Log(), "status=bounced (host mx1.remote.test[127.0.0.1]:"+fmt.Sprint(sink.Port)+" said: 550 5.1.1 <nobody@remote.test>: no such user here (in reply to RCPT TO command))") {
		t.Errorf("log lacks the bounce:\n%s", tail(s.Log(), 20))
	}
}

type dsnReport struct {
	Subject    string              `json:"subject"`
	To         string              `json:"to"`
	ReportType string              `json:"report_type"`
	Parts      []string            `json:"parts"`
	PerMessage map[string]string   `json:"per_message"`
	Recipients []map[string]string `json:"recipients"`
	Defects    []string            `json:"defects"`
}

// TestOutboundFiftyRecipients: of 50 recipients at one destination, 10
// are refused: 40 are delivered once, in one transaction, and the 10
// bounce in one DSN.
func TestOutboundFiftyRecipients(t *testing.T) {
	sink := NewSink(t)
	sink.Rcpt = func(addr string) string {
		var n int
		fmt.Sscanf(addr, "u%d@", &n)
		if n%5 == 0 {
			return "550 5.1.1 unknown user"
		}
		return "250 2.1.5 ok"
	}
	s, _ := outbound(t, remoteZone, sink.Port)
	var rcpts []string
	for i := range 50 {
		rcpts = append(rcpts, fmt.Sprintf("u%d@remote.test", i))
	}
	submit(t, s, "demo@example.test", rcpts, "fifty")
	sink.Wait(1, 20*time.Second)
	s.WaitMessages("demo@example.test", 1, 20*time.Second)
	s.WaitQueueEmpty(10 * time.Second)
	txs := sink.Txs()
	if len(txs) != 1 || len(txs[0].Rcpts) != 40 {
		t.Fatalf("%d transactions; first with %d recipients, want one with 40", len(txs), len(txs[0].Rcpts))
	}
	var reports []dsnReport
	mailtool(t, &reports, "dsns", s.Maildir("demo@example.test"))
	if len(reports) != 1 || len(reports[0].Recipients) != 10 {
		t.Fatalf("DSNs: %+v", reports)
	}
	for _, rc := range reports[0].Recipients {
		var n int
		fmt.Sscanf(rc["Final-Recipient"], "rfc822; u%d@", &n)
		if n%5 != 0 || rc["Status"] != "5.1.1" {
			t.Errorf("bounced %v", rc)
		}
	}
}

// TestOutboundCrashNoResend: smtp, or qmgr, is killed while one
// destination is still in DATA; the recipients another destination
// already accepted are not sent again after the restart.
func TestOutboundCrashNoResend(t *testing.T) {
	for _, victim := range []string{"outbound", "qmgr"} {
		t.Run(victim, func(t *testing.T) { crashNoResend(t, victim) })
	}
}

func crashNoResend(t *testing.T, victim string) {
	fast, slow := NewSink(t), NewSink(t)
	slow.SetDataDelay(3 * time.Second)
	// Both sinks listen on 127.0.0.1 with different ports, and MX
	// delivery uses one port for all: so the fast one is reached
	// through transport_maps with an explicit port instead.
	d := dnstest.New(t, "$ORIGIN slow.test.\n@ MX 10 mx\nmx A 127.0.0.1\n")
	s := NewSystem(t, Options{Set: []string{
		"dns_servers=" + d.Addr(), fmt.Sprintf("smtp_tcp_port=%d", slow.Port),
		"minimal_backoff_time=1s", "maximal_backoff_time=1s", "queue_run_delay=1s",
	}})
	s.Postern("config", "set", fmt.Sprintf(`transport_maps=["fast.test smtp:[127.0.0.1]:%d"]`, fast.Port))
	s.Postern("reload")
	time.Sleep(500 * time.Millisecond)
	submit(t, s, "alice@example.org", []string{"a@fast.test", "b@slow.test"}, "crash")
	fast.Wait(1, 20*time.Second)
	// Wait for the slow sink to have the message, then kill the victim
	// before the sink answers.
	deadline := time.Now().Add(20 * time.Second)
	for slow.Conns() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	pids := s.PIDs(victim)
	if len(pids) == 0 {
		t.Fatalf("no %s process to kill", victim)
	}
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	slow.SetDataDelay(0)
	s.WaitLog("killed by signal 9", 10*time.Second)
	slow.Wait(1, 30*time.Second)
	s.WaitQueueEmpty(30 * time.Second)
	if n := len(fast.Txs()); n != 1 {
		t.Errorf("the fast destination got %d transactions, want 1 (no resend after the crash)", n)
	}
	if n := len(slow.Txs()); n < 1 || n > 2 {
		t.Errorf("the slow destination got %d transactions, want 1 or 2 (a duplicate is allowed: it never answered)", n)
	}
}
