package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dialFrom connects to addr from the loopback address from and reads
// the greeting, which it returns.
func dialFrom(t *testing.T, from, addr string) (*Dialogue, string) {
	t.Helper()
	dl := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	c, err := dl.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	d := &Dialogue{t: t, conn: c, r: bufio.NewReader(c)}
	return d, d.Reply()
}

// The AUTH PLAIN responses of demo@example.test with a wrong and the
// right password.
const (
	plainWrong = "AUTH PLAIN AGRlbW9AZXhhbXBsZS50ZXN0AHdyb25n"
	plainRight = "AUTH PLAIN AGRlbW9AZXhhbXBsZS50ZXN0AGRlbW8="
)

// TestAuthBruteForce: 50 failed AUTHs from one address, in five
// sessions on the submission port, trip smtpd_auth_failure_limit (50
// here): the 50th is answered 421 4.7.0 and its session closed, with the
// limit's log line, and so is the next AUTH from that address, even with
// the right password. Each failure was answered after a wait. Another
// address with a few failures is not held back: its right password
// works and its message is delivered. The shipped fail2ban filter, run
// by fail2ban-regex over the mail log, finds the failures and the limit
// lines of each address and nothing else.
func TestAuthBruteForce(t *testing.T) {
	s := NewSystem(t, Options{Set: []string{"smtpd_client_event_limit_exceptions=", "smtpd_tls_auth_only=false",
		"smtpd_auth_failure_limit=50", "smtpd_auth_failure_delay=10ms", "smtpd_auth_failure_max_delay=40ms"}})
	const attacker, user = "127.0.0.2", "127.0.0.3"
	start := time.Now()
	failures := 0
	for session := range 5 {
		d, greeting := dialFrom(t, attacker, s.Addr(587))
		if !strings.HasPrefix(greeting, "220 ") {
			t.Fatalf("session %d: greeting %q", session, greeting)
		}
		d.Expect("EHLO attacker.example", "250")
		for range 10 {
			failures++
			r := d.Cmd(plainWrong)
			if failures < 50 {
				if !strings.HasPrefix(r, "535 5.7.8 ") {
					t.Fatalf("failure %d: %q, want 535 5.7.8", failures, r)
				}
				continue
			}
			if r != "421 4.7.0 mail.example.test Error: too many AUTH failures from 127.0.0.2" {
				t.Fatalf("failure %d: %q, want 421 4.7.0", failures, r)
			}
			if r := d.Reply(); r != "" {
				t.Fatalf("after the 421: %q, want the connection closed", r)
			}
		}
	}
	// Each failure waited (10 ms, 20 ms, then 40 ms), after the first few.
	if d := time.Since(start); d < 49*30*time.Millisecond {
		t.Errorf("50 failures took %s: no wait after failed AUTH?", d)
	}
	d, _ := dialFrom(t, attacker, s.Addr(587))
	d.Expect("EHLO attacker.example", "250")
	if r := d.Cmd(plainRight); r != "421 4.7.0 mail.example.test Error: too many AUTH failures from 127.0.0.2" {
		t.Errorf("right password after the limit: %q, want 421 4.7.0", r)
	}

	d, _ = dialFrom(t, user, s.Addr(587))
	d.Expect("EHLO user.example", "250")
	for range 3 {
		d.Expect(plainWrong, "535")
	}
	d.Expect(plainRight, "235")
	d.Expect("MAIL FROM:<demo@example.test>", "250")
	d.Expect("RCPT TO:<demo@example.test>", "250")
	d.Expect("DATA", "354")
	d.Send("Subject: after three failures\r\n\r\nhello\r\n.\r\n")
	if r := d.Reply(); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("end of data: %q", r)
	}
	s.WaitMessages("demo@example.test", 1, 20*time.Second)

	log := s.Log()
	if n := strings.Count(log, "warning: AUTH failure limit exceeded: 50 from localhost[127.0.0.2] for service submission\n"); n != 2 {
		t.Errorf("%d limit lines for 127.0.0.2, want 2\n%s", n, tail(log, 20))
	}
	if n := strings.Count(log, "warning: localhost[127.0.0.2]: SASL PLAIN authentication failed: "); n != 50 {
		t.Errorf("%d failure lines for 127.0.0.2, want 50", n)
	}

	t.Run("fail2ban-regex", func(t *testing.T) {
		got := fail2banRegex(t, filepath.Join(s.Dir, "log", "maillog"), "")
		want := map[string]int{attacker: 52, user: 3}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("fail2ban-regex matched %v, want %v", got, want)
		}
	})
}

// TestMessageRateLimitAcrossServices: smtpd_client_message_rate_limit
// counts a client's mail on every port together (one smtpd process per
// service, one anvil): two messages on port 25 and one on the
// submission port are accepted, the fourth MAIL FROM on either gets 450
// 4.7.1 with the limit's log line, and each message that got 250 is
// delivered.
func TestMessageRateLimitAcrossServices(t *testing.T) {
	s := NewSystem(t, Options{Set: []string{"smtpd_client_event_limit_exceptions=", "smtpd_tls_auth_only=false",
		"smtpd_client_message_rate_limit=3", "anvil_rate_time_unit=1h"}})
	send := func(d *Dialogue, subject string) {
		t.Helper()
		d.Expect("MAIL FROM:<demo@example.test>", "250")
		d.Expect("RCPT TO:<demo@example.test>", "250")
		d.Expect("DATA", "354")
		d.Send("Subject: " + subject + "\r\nMessage-ID: <" + subject + "@client.example>\r\n\r\nhello\r\n.\r\n")
		if r := d.Reply(); !strings.HasPrefix(r, "250 ") {
			t.Fatalf("%s: end of data: %q", subject, r)
		}
	}
	mx := Dial(t, s.Addr(25))
	mx.Expect("EHLO client.example", "250")
	send(mx, "one")
	send(mx, "two")
	sub := Dial(t, s.Addr(587))
	sub.Expect("EHLO client.example", "250")
	sub.Expect(plainRight, "235")
	send(sub, "three")
	if r := sub.Cmd("MAIL FROM:<demo@example.test>"); r != "450 4.7.1 Error: too much mail from 127.0.0.1" {
		t.Errorf("fourth message on 587: %q, want 450 4.7.1", r)
	}
	if r := mx.Cmd("MAIL FROM:<demo@example.test>"); r != "450 4.7.1 Error: too much mail from 127.0.0.1" {
		t.Errorf("fifth message on 25: %q, want 450 4.7.1", r)
	}
	mx.Expect("QUIT", "221")
	sub.Expect("QUIT", "221")
	s.WaitMessages("demo@example.test", 3, 20*time.Second)
	s.WaitQueueEmpty(20 * time.Second)
	if got := deliveredIDs(t, s.Maildir("demo@example.test")); fmt.Sprint(got) != fmt.Sprint(map[string]int{"one": 1, "two": 1, "three": 1}) {
		t.Errorf("delivered %v, want one, two and three once each", got)
	}
	for _, want := range []string{
		"warning: Message delivery request rate limit exceeded: 4 from localhost[127.0.0.1] for service submission\n",
		"warning: Message delivery request rate limit exceeded: 5 from localhost[127.0.0.1] for service smtp\n",
		"NOQUEUE: reject: MAIL from localhost[127.0.0.1]: 450 4.7.1 Error: too much mail from 127.0.0.1;",
	} {
		if !strings.Contains(s.Log(), want) {
			t.Errorf("log lacks %q\n%s", want, tail(s.Log(), 20))
		}
	}
	// fail2ban's normal mode bans for AUTH only; aggressive also for the
	// client limits.
	t.Run("fail2ban-regex", func(t *testing.T) {
		logfile := filepath.Join(s.Dir, "log", "maillog")
		if got := fail2banRegex(t, logfile, ""); len(got) != 0 {
			t.Errorf("mode normal matched %v, want nothing", got)
		}
		if got := fail2banRegex(t, logfile, "aggressive"); fmt.Sprint(got) != fmt.Sprint(map[string]int{"127.0.0.1": 2}) {
			t.Errorf("mode aggressive matched %v, want the two limit lines of 127.0.0.1", got)
		}
	})
}

// TestConnectionCountAcrossServices: smtpd_client_connection_count_limit
// counts a client's open connections on every port together: with one
// open on 25 and one on 587 (two smtpd processes), a third on 25 gets
// 421 4.7.0. When the submission smtpd is killed (SIGKILL: it reports
// nothing), anvil gives back its client's connection as its own
// connection to anvil closes, so a new one is accepted again.
func TestConnectionCountAcrossServices(t *testing.T) {
	s := NewSystem(t, Options{Set: []string{"smtpd_client_event_limit_exceptions=", "smtpd_client_connection_count_limit=2"}})
	Dial(t, s.Addr(25)).Expect("EHLO one.example", "250")
	Dial(t, s.Addr(587)).Expect("EHLO two.example", "250")
	_, greeting := dialFrom(t, "127.0.0.1", s.Addr(25))
	if greeting != "421 4.7.0 mail.example.test Error: too many connections from 127.0.0.1" {
		t.Fatalf("third connection: %q, want 421 4.7.0", greeting)
	}
	s.WaitLog("warning: Connection concurrency limit exceeded: 3 from localhost[127.0.0.1] for service smtp", 5*time.Second)

	pids := s.PIDs("submission")
	if len(pids) != 1 {
		t.Fatalf("submission processes %v", pids)
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, greeting := dialFrom(t, "127.0.0.1", s.Addr(25))
		if strings.HasPrefix(greeting, "220 ") {
			d.Expect("QUIT", "221")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the killed smtpd's connection still counts after 10 s: %q", greeting)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// fail2banRegex runs fail2ban-regex with the shipped filter, installed
// as fail2ban installs filters (beside its common.conf), over logfile,
// and counts the matches by address. Without fail2ban the test is
// skipped, except in CI (CI=true), where .ci/run installs it.
func fail2banRegex(t *testing.T, logfile, mode string) map[string]int {
	t.Helper()
	bin, err := exec.LookPath("fail2ban-regex")
	common := "/etc/fail2ban/filter.d/common.conf"
	if err == nil {
		_, err = os.Stat(common)
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("fail2ban: %v (apt-get install fail2ban)", err)
		}
		t.Skipf("fail2ban not installed: %v", err)
	}
	dir := t.TempDir()
	filter, err := os.ReadFile("../../conf/fail2ban/postern.conf")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "postern.conf"), filter, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(common, filepath.Join(dir, "common.conf")); err != nil {
		t.Fatal(err)
	}
	arg := filepath.Join(dir, "postern.conf")
	if mode != "" {
		arg += "[mode=" + mode + "]"
	}
	out, err := exec.Command(bin, "-o", "ip", logfile, arg).Output()
	if err != nil {
		t.Fatalf("fail2ban-regex: %v\n%s", err, out)
	}
	got := map[string]int{}
	for _, ip := range strings.Fields(string(out)) {
		if net.ParseIP(ip) == nil {
			t.Fatalf("fail2ban-regex printed %q, not an address:\n%s", ip, out)
		}
		got[ip]++
	}
	return got
}
