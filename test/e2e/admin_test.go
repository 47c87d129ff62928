package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// postern start returns only once every listener answers; status shows
// each service with its PIDs; stop ends the master and closes the ports;
// check passes on the sandbox and names file, line and key on bad files.
func TestPosternStartStatusStop(t *testing.T) {
	s := NewSystem(t, Options{NoStart: true})
	if out := s.Postern("check"); !strings.Contains(out, "no problems found") {
		t.Errorf("check on the sandbox: %q", out)
	}
	if out := s.Postern("config", "check"); !strings.Contains(out, "is valid") {
		t.Errorf("config check on the sandbox: %q", out)
	}
	if out, err := s.PosternErr("status"); err == nil || !strings.Contains(out, "the mail system is not running") {
		t.Errorf("status before start: %v %q", err, out)
	}

	out := s.Postern("start")
	// Nothing may sit between start returning and the first connection:
	// that is the promise of start.
	for _, port := range []int{25, 587, 465} {
		if g, err := greeting(s.Addr(port), port == 465, 2*time.Second); err != nil || !strings.HasPrefix(g, "220 ") {
			t.Errorf("port %d right after start: %q, %v", port, g, err)
		}
	}
	m := regexp.MustCompile(`the mail system is running \(master pid (\d+)\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("start said %q", out)
	}
	pid, _ := strconv.Atoi(m[1])
	// The master runs on in its own session; make sure it ends with the
	// test even when an assertion below fails.
	t.Cleanup(func() {
		if processAlive(pid) {
			s.PosternErr("stop")
		}
		if processAlive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	if !processAlive(pid) {
		t.Fatalf("master pid %d is not running after start", pid)
	}

	st, err := s.Status()
	if err != nil {
		t.Fatal(err)
	}
	if !st.Ready || st.PID != pid {
		t.Errorf("status after start: ready %v pid %d, want ready and pid %d", st.Ready, st.PID, pid)
	}
	want := map[string]bool{"smtp": true, "submission": true, "submissions": true, "qmgr": true, "local": true}
	text := s.Postern("status")
	if !strings.Contains(text, fmt.Sprintf("the mail system is running (master pid %d,", pid)) {
		t.Errorf("status headline:\n%s", text)
	}
	for _, sv := range st.Services {
		delete(want, sv.Name)
		if len(sv.Processes) != 1 || !sv.Processes[0].Ready {
			t.Errorf("service %s: processes %+v, want one ready", sv.Name, sv.Processes)
			continue
		}
		p := sv.Processes[0].PID
		if !processAlive(p) {
			t.Errorf("service %s: pid %d is not running", sv.Name, p)
		}
		line := statusLine(text, sv.Name)
		if !strings.Contains(line, "1/1 ready") || !regexp.MustCompile(`\b`+strconv.Itoa(p)+`\b`).MatchString(line) {
			t.Errorf("status line of %s does not show it ready with pid %d: %q", sv.Name, p, line)
		}
	}
	if len(want) > 0 {
		t.Errorf("status lacks services %v:\n%s", want, text)
	}

	if out, err := s.PosternErr("start"); err == nil || !strings.Contains(out, fmt.Sprintf("already running (master pid %d)", pid)) {
		t.Errorf("second start: %v %q", err, out)
	}

	if out := s.Postern("stop"); !strings.Contains(out, "the mail system is stopped") {
		t.Errorf("stop said %q", out)
	}
	if processAlive(pid) {
		t.Errorf("master pid %d still runs after stop", pid)
	}
	for _, sv := range st.Services {
		if p := sv.Processes[0].PID; processAlive(p) {
			t.Errorf("%s pid %d still runs after stop", sv.Name, p)
		}
	}
	if c, err := net.DialTimeout("tcp", s.Addr(25), time.Second); err == nil {
		c.Close()
		t.Errorf("port 25 still accepts after stop")
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "spool", "pid", "master.pid")); !os.IsNotExist(err) {
		t.Errorf("pid file after stop: %v", err)
	}
	for _, cmd := range []string{"status", "stop", "reload"} {
		if out, err := s.PosternErr(cmd); err == nil || !strings.Contains(out, "the mail system is not running") {
			t.Errorf("%s after stop: %v %q", cmd, err, out)
		}
	}
	if !strings.Contains(s.Log(), "master["+strconv.Itoa(pid)+"]: terminating") {
		t.Errorf("the master did not log its end\n%s", tail(s.Log(), 10))
	}
}

// A broken configuration is refused by check, config check, start and
// reload with the file, the line and the key named.
func TestPosternCheckBadConfig(t *testing.T) {
	s := NewSystem(t, Options{})
	good, err := os.ReadFile(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(string(good), "\n")
	for _, c := range []struct {
		name, text, want string
		appended         bool // at the end of the file rather than the start
	}{
		{"unknown key", "mesage_size_limit = 5\n", `:%d: unknown parameter "mesage_size_limit"`, false},
		{"unknown service key", "[services.qmgr]\nprocesses = 2\n", `:%d: unknown parameter "services.qmgr.processes"`, true},
		{"bad value", "message_size_limit = -1\n", `:%d: message_size_limit: -1: must be positive`, false},
		{"wrong type", "smtpd_timeout = true\n", `:%d: smtpd_timeout`, false},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			bad := filepath.Join(s.Dir, "bad.toml")
			// The offending key is on the last line of c.text.
			text, line := c.text+string(good), strings.Count(c.text, "\n")
			if c.appended {
				text, line = string(good)+c.text, lines+strings.Count(c.text, "\n")
			}
			if err := os.WriteFile(bad, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			where := fmt.Sprintf(c.want, line)
			for _, args := range [][]string{{"check"}, {"config", "check"}, {"start"}} {
				out, err := exec.Command(filepath.Join(binDir, "postern"), append([]string{"-c", bad}, args...)...).CombinedOutput()
				if err == nil || !strings.Contains(string(out), bad+where) {
					t.Errorf("postern %s: %v %q, want it to fail with %q", strings.Join(args, " "), err, out, bad+where)
				}
			}
			// A running master given a broken file keeps its configuration
			// and says why in the log.
			if err := os.WriteFile(s.Config, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(s.Config, good, 0o644)
			if err := syscall.Kill(s.MasterPID(), syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			s.WaitLog("reload: "+s.Config+where, 5*time.Second)
			if st, err := s.Status(); err != nil || !st.Ready {
				t.Fatalf("after a failed reload: %+v %v", st, err)
			}
			d := Dial(t, s.Addr(25))
			d.Expect("EHLO client.example", "250")
			d.Expect("QUIT", "221")
		})
	}
}

// A second master on the same spool is refused while the first runs, and
// the first is not disturbed.
func TestSecondMasterRefused(t *testing.T) {
	s := NewSystem(t, Options{})
	smtpd := s.PIDs("smtp")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, filepath.Join(binDir, "master"), "-c", s.Config).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("second master: %v\n%s", err, out)
	}
	want := fmt.Sprintf("the mail system is already running (master pid %d)", s.MasterPID())
	if !strings.Contains(string(out), want) {
		t.Errorf("second master said %q, want %q", out, want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second master took %s to give up", d)
	}
	if out, err := s.PosternErr("start"); err == nil || !strings.Contains(out, want) {
		t.Errorf("postern start: %v %q", err, out)
	}
	st, err := s.Status()
	if err != nil || !st.Ready || st.PID != s.MasterPID() {
		t.Fatalf("first master after the attempt: %+v %v", st, err)
	}
	if got := s.PIDs("smtp"); fmt.Sprint(got) != fmt.Sprint(smtpd) {
		t.Errorf("smtpd pids changed from %v to %v", smtpd, got)
	}
	b, err := os.ReadFile(filepath.Join(s.Dir, "spool", "pid", "master.pid"))
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(s.MasterPID()) {
		t.Errorf("pid file %q %v, want %d", b, err, s.MasterPID())
	}
	sendRaw(t, s.Addr(25), "second-master")
	s.WaitMessages("demo@example.test", 1, 10*time.Second)
}

// A reload keeps the listeners: a session opened before it completes its
// transaction, new connections are served, and a changed parameter takes
// effect, whether the reload comes from postern reload or SIGHUP.
func TestReloadKeepsListeners(t *testing.T) {
	s := NewSystem(t, Options{})
	oldSmtpd := s.PIDs("smtp")
	d := Dial(t, s.Addr(25))
	if r := d.Expect("EHLO client.example", "250"); !strings.Contains(r, "SIZE 10240000") {
		t.Fatalf("EHLO before reload: %q", r)
	}
	d.Expect("MAIL FROM:<before@example.org>", "250")
	d.Expect("RCPT TO:<demo@example.test>", "250")

	s.Postern("config", "set", "message_size_limit=20000")
	if out := s.Postern("reload"); !strings.Contains(out, "reloaded") {
		t.Errorf("reload said %q", out)
	}
	s.WaitLog("reload: service smtp changed; restarting it", 5*time.Second)
	// Give the old smtpd time to begin its shutdown before the session
	// goes on: the transaction must survive it.
	time.Sleep(300 * time.Millisecond)
	d.Expect("DATA", "354")
	d.Send("Subject: across the reload\r\nMessage-ID: <reload-1@client.example>\r\n\r\nbody\r\n.\r\n")
	if r := d.Reply(); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("end of data after the reload began: %q\n%s", r, tail(s.Log(), 20))
	}
	d.Expect("QUIT", "221")

	// A new connection is served by the new smtpd, with the new limit.
	d2 := Dial(t, s.Addr(25))
	if r := d2.Expect("EHLO client.example", "250"); !strings.Contains(r, "SIZE 20000\n") && !strings.HasSuffix(r, "SIZE 20000") {
		t.Errorf("EHLO after reload: %q", r)
	}
	d2.Expect("MAIL FROM:<a@example.org> SIZE=30000", "552 5.3.4")
	d2.Expect("MAIL FROM:<a@example.org>", "250")
	d2.Expect("RCPT TO:<demo@example.test>", "250")
	d2.Expect("DATA", "354")
	d2.Send("Subject: too big now\r\n\r\n" + strings.Repeat(strings.Repeat("x", 98)+"\r\n", 300) + ".\r\n")
	if r := d2.Reply(); !strings.HasPrefix(r, "552 5.3.4") {
		t.Errorf("30 KB message after the limit went to 20000: %q", r)
	}
	d2.Expect("QUIT", "221")
	if got := s.PIDs("smtp"); len(got) != 1 || got[0] == oldSmtpd[0] {
		t.Errorf("smtpd pids %v after a reload that changed its parameters (before %v)", got, oldSmtpd)
	}

	// SIGHUP does the same.
	s.Postern("config", "set", "message_size_limit=40000")
	d3 := Dial(t, s.Addr(25))
	d3.Expect("EHLO client.example", "250")
	d3.Expect("MAIL FROM:<hup@example.org>", "250")
	if err := syscall.Kill(s.MasterPID(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLogCount(t, s, "reload: service smtp changed; restarting it", 2, 5*time.Second)
	time.Sleep(300 * time.Millisecond)
	d3.Expect("RCPT TO:<demo@example.test>", "250")
	d3.Expect("DATA", "354")
	d3.Send("Subject: across SIGHUP\r\nMessage-ID: <reload-2@client.example>\r\n\r\nbody\r\n.\r\n")
	if r := d3.Reply(); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("end of data after SIGHUP: %q", r)
	}
	d3.Expect("QUIT", "221")
	// 30 KB, refused before, now fits.
	d4 := Dial(t, s.Addr(25))
	if r := d4.Expect("EHLO client.example", "250"); !strings.Contains(r, "SIZE 40000") {
		t.Errorf("EHLO after SIGHUP: %q", r)
	}
	d4.Expect("MAIL FROM:<a@example.org> SIZE=30000", "250")
	d4.Expect("RCPT TO:<demo@example.test>", "250")
	d4.Expect("DATA", "354")
	d4.Send("Subject: fits now\r\nMessage-ID: <reload-3@client.example>\r\n\r\n" + strings.Repeat(strings.Repeat("x", 98)+"\r\n", 300) + ".\r\n")
	if r := d4.Reply(); !strings.HasPrefix(r, "250 ") {
		t.Errorf("30 KB message after the limit went to 40000: %q", r)
	}
	d4.Expect("QUIT", "221")

	want := map[string]int{"reload-1": 1, "reload-2": 1, "reload-3": 1}
	// Within less than qmgr_scan_interval (10s): messages accepted while
	// the old smtpd drains must wake the new qmgr, not wait for its timer.
	got := deliveredIDs(t, s.Maildir("demo@example.test"))
	deadline := time.Now().Add(5 * time.Second)
	for fmt.Sprint(got) != fmt.Sprint(want) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		got = deliveredIDs(t, s.Maildir("demo@example.test"))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("delivered %v, want %v\n%s", got, want, tail(s.Log(), 30))
	}
	if st, err := s.Status(); err != nil || !st.Ready {
		t.Errorf("status after the reloads: %+v %v", st, err)
	}
}

// A daemon killed with SIGKILL is restarted at once, the master logs it,
// and mail flows again.
func TestDaemonRestartedAfterKill(t *testing.T) {
	s := NewSystem(t, Options{})
	for i, svc := range []string{"qmgr", "smtp", "local"} {
		old := s.PIDs(svc)
		if len(old) != 1 {
			t.Fatalf("%s pids %v", svc, old)
		}
		if err := syscall.Kill(old[0], syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		s.WaitLog(fmt.Sprintf("pid %d killed by signal 9", old[0]), 5*time.Second)
		var now []int
		deadline := time.Now().Add(10 * time.Second)
		for {
			now = s.PIDs(svc)
			if st, err := s.Status(); err == nil && st.Ready && len(now) == 1 && now[0] != old[0] {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not back after SIGKILL: pids %v (old %d)\n%s", svc, now, old[0], tail(s.Log(), 20))
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !processAlive(now[0]) {
			t.Errorf("new %s pid %d is not running", svc, now[0])
		}
		if strings.Contains(s.Log(), "bad command startup") {
			t.Errorf("a killed ready daemon was throttled\n%s", tail(s.Log(), 10))
		}
		sendRaw(t, s.Addr(25), fmt.Sprintf("after-kill-%s", svc))
		s.WaitMessages("demo@example.test", i+1, 15*time.Second)
	}
	re := regexp.MustCompile(`postern/master\[\d+\]: warning: process \S+/(qmgr|smtpd|local) pid \d+ killed by signal 9`)
	if n := len(re.FindAllString(s.Log(), -1)); n != 3 {
		t.Errorf("%d kill lines in the log, want 3\n%s", n, s.Log())
	}
}

// A service whose program dies before it is ready is throttled for
// service_throttle_time, retried after it, and logged as Postfix does;
// the other services go on.
func TestBadCommandThrottled(t *testing.T) {
	const throttle = 2 * time.Second
	s := NewSystem(t, Options{Set: []string{"service_throttle_time=2s"}})
	f, err := os.OpenFile(s.Config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "\n[services.broken]\nkind = \"unix\"\nlisten = [\"private/broken\"]\ncommand = \"/bin/false\"\n")
	f.Close()
	start := time.Now()
	s.Postern("reload")
	s.WaitLog("reload: service broken added", 5*time.Second)
	s.WaitLog("/bin/false: bad command startup -- throttling", 5*time.Second)
	if !regexp.MustCompile(`master\[\d+\]: warning: process /bin/false pid \d+ exit status 1`).MatchString(s.Log()) {
		t.Errorf("no exit status line\n%s", tail(s.Log(), 10))
	}
	if line := statusLine(s.Postern("status"), "broken"); !strings.Contains(line, "throttled") {
		t.Errorf("status of the broken service: %q", line)
	}
	// Retried once the throttle time is over, not in a tight loop.
	waitLogCount(t, s, "/bin/false: bad command startup", 2, 3*throttle)
	if d := time.Since(start); d < throttle {
		t.Errorf("retried after %s, before service_throttle_time", d)
	}
	time.Sleep(throttle / 2)
	n := strings.Count(s.Log(), "/bin/false: bad command startup")
	if elapsed := time.Since(start); n > int(elapsed/throttle)+2 {
		t.Errorf("%d failed starts in %s with a %s throttle", n, elapsed, throttle)
	}
	sendRaw(t, s.Addr(25), "throttle")
	s.WaitMessages("demo@example.test", 1, 10*time.Second)
}

// One delivered message leaves the classic Postfix log lines, in order.
func TestMailLogLines(t *testing.T) {
	s := NewSystem(t, Options{})
	d := Dial(t, s.Addr(25))
	d.Expect("EHLO client.example", "250")
	d.Expect("MAIL FROM:<alice@example.org>", "250")
	d.Expect("RCPT TO:<demo@example.test>", "250")
	d.Expect("DATA", "354")
	d.Send("From: alice@example.org\r\nSubject: log lines\r\nMessage-ID: <loglines@client.example>\r\n\r\nhello\r\n.\r\n")
	r := d.Reply()
	m := regexp.MustCompile(`^250 2\.0\.0 Ok: queued as (\S+)$`).FindStringSubmatch(r)
	if m == nil {
		t.Fatalf("end of data: %q", r)
	}
	id := m[1]
	d.Expect("QUIT", "221")
	s.WaitLog(id+": removed", 10*time.Second)
	s.WaitLog("disconnect from", 5*time.Second)

	// A session with a refused command, for the n/m form.
	d = Dial(t, s.Addr(25))
	d.Expect("EHLO client.example", "250")
	d.Expect("MAIL FROM:<alice@example.org>", "250")
	d.Expect("RCPT TO:<nobody@example.test>", "550")
	d.Expect("RSET", "250")
	d.Expect("NOOP", "250")
	d.Expect("BOGUS", "502")
	d.Expect("QUIT", "221")
	waitLogCount(t, s, "disconnect from", 2, 5*time.Second)

	prefix := `^\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ postern/`
	q := regexp.QuoteMeta(id)
	wants := []string{
		prefix + `smtpd\[\d+\]: connect from localhost\[127\.0\.0\.1\]$`,
		prefix + `smtpd\[\d+\]: ` + q + `: client=localhost\[127\.0\.0\.1\]$`,
		prefix + `smtpd\[\d+\]: ` + q + `: message-id=<loglines@client\.example>$`,
		prefix + `qmgr\[\d+\]: ` + q + `: from=<alice@example\.org>, size=\d+, nrcpt=1 \(queue active\)$`,
		prefix + `local\[\d+\]: ` + q + `: to=<demo@example\.test>, relay=local, delay=\d+(\.\d+)?, delays=\d+(\.\d+)?/\d+(\.\d+)?/\d+(\.\d+)?/\d+(\.\d+)?, dsn=2\.0\.0, status=sent \(delivered to maildir\)$`,
		prefix + `local\[\d+\]: ` + q + `: removed$`,
	}
	lines := strings.Split(s.Log(), "\n")
	pos := -1
	for _, w := range wants {
		re := regexp.MustCompile(w)
		found := -1
		for i, l := range lines {
			if re.MatchString(l) {
				found = i
				break
			}
		}
		switch {
		case found < 0:
			t.Errorf("no log line matches %s", w)
		case found < pos:
			t.Errorf("log line %q comes before an earlier event", lines[found])
		default:
			pos = found
		}
	}
	// The disconnect line of the message's session is Postfix's, in
	// Postfix's order, and so is that of the session with errors.
	for _, w := range []string{
		"smtpd[", "disconnect from localhost[127.0.0.1] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5\n",
		"disconnect from localhost[127.0.0.1] ehlo=1 mail=1 rcpt=0/1 rset=1 noop=1 quit=1 unknown=0/1 commands=5/7\n",
	} {
		if !strings.Contains(s.Log(), w) {
			t.Errorf("log lacks %q", w)
		}
	}
	// size= is the size of the queued message, at least what was sent.
	sm := regexp.MustCompile(q + `: from=<alice@example\.org>, size=(\d+)`).FindStringSubmatch(s.Log())
	if sm != nil {
		if n, _ := strconv.Atoi(sm[1]); n < 80 {
			t.Errorf("size=%d is less than the message sent", n)
		}
	}
	if t.Failed() {
		t.Logf("log:\n%s", s.Log())
	}
}

// greeting connects to addr (over TLS if tlsOn) and returns the first
// reply line, which must come within timeout.
func greeting(addr string, tlsOn bool, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if tlsOn {
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			return "", err
		}
		c = tc
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimRight(line, "\r\n"), err
}

// processAlive reports whether pid runs (a zombie does not count).
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
}

// statusLine returns the line of postern status output for a service.
func statusLine(out, service string) string {
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == service {
			return l
		}
	}
	return ""
}

// waitLogCount waits until substr occurs n times in the mail log.
func waitLogCount(t *testing.T, s *System, substr string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for strings.Count(s.Log(), substr) < n {
		if time.Now().After(deadline) {
			t.Fatalf("log has %q %d times after %s, want %d\n%s", substr, strings.Count(s.Log(), substr), timeout, n, tail(s.Log(), 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sendRaw sends one small message to demo@example.test whose Message-ID
// is <id@client.example>.
func sendRaw(t *testing.T, addr, id string) {
	t.Helper()
	d := Dial(t, addr)
	d.Expect("EHLO client.example", "250")
	d.Expect("MAIL FROM:<sender@example.org>", "250")
	d.Expect("RCPT TO:<demo@example.test>", "250")
	d.Expect("DATA", "354")
	d.Send(fmt.Sprintf("Subject: %s\r\nMessage-ID: <%s@client.example>\r\n\r\nbody of %s\r\n.\r\n", id, id, id))
	if r := d.Reply(); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("message %s: %q", id, r)
	}
	d.Expect("QUIT", "221")
}
