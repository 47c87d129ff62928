package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// silentServer accepts SMTP connections and never greets: a delivery to
// it stays in qmgr's active queue until the test closes it.
type silentServer struct {
	l     net.Listener
	Port  int
	mu    sync.Mutex
	conns []net.Conn
}

func newSilentServer(t *testing.T) *silentServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silentServer{l: l, Port: l.Addr().(*net.TCPAddr).Port}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
		}
	}()
	t.Cleanup(s.Close)
	return s
}

func (s *silentServer) Close() {
	s.l.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

// refusedPort returns a loopback port nothing listens on.
func refusedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// queueSystem is a sandbox whose mail for slow.test goes to a server
// that never answers (so it stays active) and whose mail for defer.test
// goes to a port that refuses connections (so it is deferred, with a
// backoff long enough that it stays deferred during the test).
func queueSystem(t *testing.T) (*System, *silentServer) {
	t.Helper()
	silent := newSilentServer(t)
	zone := "$ORIGIN slow.test.\n@ MX 10 mx\nmx A 127.0.0.1\n"
	s, _ := outbound(t, zone, silent.Port, "queue_run_delay=1s", "minimal_backoff_time=1h", "maximal_backoff_time=2h",
		fmt.Sprintf(`transport_maps=["defer.test smtp:[127.0.0.1]:%d"]`, refusedPort(t)))
	return s, silent
}

// waitIn waits until queue q of the sandbox holds n entries.
func waitIn(t *testing.T, s *System, q string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		names, _ := os.ReadDir(filepath.Join(s.Dir, "spool", q))
		var ids []string
		for _, e := range names {
			ids = append(ids, e.Name())
		}
		if len(ids) == n {
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/ holds %v, want %d entries\n%s", q, ids, n, tail(s.Log(), 20))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// listJSON runs queue list -j and decodes each line, checking it with
// Python's json module too, a parser written elsewhere.
func listJSON(t *testing.T, s *System, args ...string) []map[string]any {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "postern"), append([]string{"-c", s.Config, "queue", "list", "-j"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("queue list -j: %v\n%s", err, out)
	}
	py := exec.Command("/usr/bin/python3", "-c", "import json,sys\nfor l in sys.stdin: json.loads(l)\n")
	py.Stdin = strings.NewReader(string(out))
	if pout, err := py.CombinedOutput(); err != nil {
		t.Errorf("python's json refuses queue list -j: %v\n%s\n%s", err, pout, out)
	}
	var entries []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("queue list -j line %q: %v", line, err)
		}
		entries = append(entries, e)
	}
	return entries
}

// byID indexes list -j entries by queue ID.
func byID(entries []map[string]any) map[string]map[string]any {
	m := map[string]map[string]any{}
	for _, e := range entries {
		m[e["queue_id"].(string)] = e
	}
	return m
}

// TestQueueCommands drives postern queue over a queue with active,
// deferred and held mail: list (mailq text and JSON), shape, hold,
// release, requeue, expire (the sender gets the bounce) and delete.
func TestQueueCommands(t *testing.T) {
	s, silent := queueSystem(t)
	if out := s.Postern("queue", "list"); out != "Mail queue is empty\n" {
		t.Errorf("empty queue: %q", out)
	}
	submit(t, s, "demo@example.test", []string{"a@defer.test"}, "deferred-one")
	submit(t, s, "alice@example.org", []string{"b@defer.test", "c@defer.test"}, "deferred-two")
	submit(t, s, "demo@example.test", []string{"x@slow.test"}, "active-one")
	deferred := waitIn(t, s, "deferred", 2)
	active := waitIn(t, s, "active", 1)[0]
	var one, two string // demo's and alice's deferred entries
	for _, e := range listJSON(t, s) {
		if e["sender"] == "alice@example.org" {
			two = e["queue_id"].(string)
		} else if e["queue_name"] == "deferred" {
			one = e["queue_id"].(string)
		}
	}
	if one == "" || two == "" || one == two || !strings.Contains(strings.Join(deferred, " "), one) {
		t.Fatalf("deferred entries %v, found %q and %q", deferred, one, two)
	}

	// hold, selected by sender.
	out, err := s.PosternErr("queue", "hold", "-s", "alice@example.org")
	if err != nil || out != "postern: Placed on hold: 1 message\n" {
		t.Fatalf("queue hold: %v %q", err, out)
	}
	waitIn(t, s, "hold", 1)

	// list: mailq's format, with the marks and reasons.
	out = s.Postern("queue", "list")
	lines := strings.Split(out, "\n")
	if lines[0] != "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------" {
		t.Errorf("heading %q", lines[0])
	}
	entry := regexp.MustCompile(`(?m)^([0-9A-V]{16})([*!#]*) +(\d+) (\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d) (\S+)$`)
	marks := map[string]string{}
	for _, m := range entry.FindAllStringSubmatch(out, -1) {
		marks[m[1]] = m[2]
	}
	if marks[active] != "*" || marks[two] != "!" || marks[one] != "" || len(marks) != 3 {
		t.Errorf("marks %v (active %s, held %s, deferred %s):\n%s", marks, active, two, one, out)
	}
	if !regexp.MustCompile(`(?m)^ +\(connect to 127\.0\.0\.1\[127\.0\.0\.1\]:\d+: Connection refused\)$`).MatchString(out) ||
		!strings.Contains(out, strings.Repeat(" ", 47)+"c@defer.test\n") ||
		!strings.HasSuffix(out, "\n\n-- 1 Kbytes in 3 Requests.\n") && !strings.HasSuffix(out, "\n\n-- 0 Kbytes in 3 Requests.\n") {
		t.Errorf("queue list:\n%s", out)
	}

	// list -j: one object per line, Postfix's fields.
	js := byID(listJSON(t, s))
	if len(js) != 3 || js[active]["queue_name"] != "active" || js[two]["queue_name"] != "hold" || js[one]["queue_name"] != "deferred" {
		t.Fatalf("list -j: %v", js)
	}
	rc := js[two]["recipients"].([]any)
	r0 := rc[0].(map[string]any)
	if len(rc) != 2 || r0["address"] != "b@defer.test" || r0["status"] != "deferred" || !strings.Contains(r0["delay_reason"].(string), "Connection refused") ||
		js[one]["message_size"].(float64) < 100 || js[one]["sender"] != "demo@example.test" {
		t.Errorf("list -j entries %v", js)
	}
	if e := listJSON(t, s, "-d", "slow.test"); len(e) != 1 || e[0]["queue_id"] != active {
		t.Errorf("list -j -d slow.test: %v", e)
	}

	// shape: the default queues leave hold out.
	out = s.Postern("queue", "shape")
	want := "           T 5 10 20 40 80 160 320 640 1280 1280+\n" +
		"     TOTAL 2 2  0  0  0  0   0   0   0    0     0\n" +
		"defer.test 1 1  0  0  0  0   0   0   0    0     0\n" +
		" slow.test 1 1  0  0  0  0   0   0   0    0     0\n"
	if out != want {
		t.Errorf("queue shape:\n%s\nwant:\n%s", out, want)
	}
	var shape struct {
		Queues  []string
		Total   struct{ Total int }
		Domains []struct {
			Domain string
			Total  int
		}
	}
	if err := json.Unmarshal([]byte(s.Postern("queue", "shape", "-j", "-q", "hold")), &shape); err != nil ||
		shape.Total.Total != 1 || len(shape.Domains) != 1 || shape.Domains[0].Domain != "defer.test" || shape.Domains[0].Total != 1 {
		t.Errorf("queue shape -j -q hold: %v %+v", err, shape)
	}

	// show: the envelope and the message of the active entry.
	out = s.Postern("queue", "show", active)
	if !strings.Contains(out, "*** ENVELOPE RECORDS active/"+active+" ***\n") || !strings.Contains(out, "recipient: x@slow.test\n") ||
		!strings.Contains(out, "Subject: active-one\n") {
		t.Errorf("queue show:\n%s", out)
	}

	// release: back to deferred, due now; qmgr tries it at its next
	// scan and defers it again.
	attempts := func(id string) int { return strings.Count(s.Log(), id+": to=<b@defer.test>") }
	before := attempts(two)
	if out, err := s.PosternErr("queue", "release", two); err != nil || out != "postern: Released from hold: 1 message\n" {
		t.Fatalf("queue release: %v %q", err, out)
	}
	waitFor(t, "a new attempt after release", func() bool { return attempts(two) > before })
	waitIn(t, s, "hold", 0)

	// requeue, by ID on standard input: incoming, tried at once.
	before = attempts(two)
	cmd := exec.Command(filepath.Join(binDir, "postern"), "-c", s.Config, "queue", "requeue", "-")
	cmd.Stdin = strings.NewReader(two + "\n")
	if out, err := cmd.CombinedOutput(); err != nil || string(out) != "postern: Requeued: 1 message\n" {
		t.Fatalf("queue requeue -: %v %q", err, out)
	}
	waitFor(t, "a new attempt after requeue", func() bool { return attempts(two) > before })

	// expire: the next attempt returns it to demo, who gets the DSN.
	if out, err := s.PosternErr("queue", "expire", one); err != nil || out != "postern: Expired: 1 message\n" {
		t.Fatalf("queue expire: %v %q", err, out)
	}
	s.WaitLog(one+": to=<a@defer.test>, relay=none, delay=", 20*time.Second)
	s.WaitLog("status=expired, returned to sender (message is administratively expired", 20*time.Second)
	bounce, err := os.ReadFile(s.WaitMessages("demo@example.test", 1, 20*time.Second)[0])
	if err != nil || !strings.Contains(string(bounce), "a@defer.test") || !strings.Contains(string(bounce), "administratively expired") {
		t.Errorf("bounce: %v\n%s", err, bounce)
	}

	// delete, by recipient domain: alice's entry, wherever it is now.
	waitFor(t, "alice's entry back in deferred/", func() bool {
		_, err := os.Stat(filepath.Join(s.Dir, "spool", "deferred", two))
		return err == nil
	})
	if out, err := s.PosternErr("queue", "delete", "-d", "defer.test"); err != nil || out != "postern: Deleted: 1 message\n" {
		t.Fatalf("queue delete: %v %q", err, out)
	}
	if js := byID(listJSON(t, s)); len(js) != 1 || js[active] == nil {
		t.Errorf("left after delete: %v", js)
	}
	if out, err := s.PosternErr("queue", "delete"); err == nil || !strings.Contains(out, "usage:") {
		t.Errorf("delete without a selection: %v %q", err, out)
	}

	// The active entry, once its server hangs up, is deferred, not lost.
	silent.Close()
	waitIn(t, s, "active", 0)
	if js := byID(listJSON(t, s)); js[active] == nil || js[active]["queue_name"] != "deferred" {
		t.Errorf("after the silent server closed: %v", js)
	}
}

// waitFor polls cond for up to 20 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s in 20s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestQueueListUnprivileged (root): a user who is neither root nor
// mail_owner lists the queue through showq but cannot change it; with
// the mail system down, they are told so, while root reads the queue
// directly.
func TestQueueListUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root, to run postern as nobody")
	}
	nobody := rootLookup(t, "nobody")
	s, _ := queueSystem(t)
	submit(t, s, "alice@example.org", []string{"b@defer.test"}, "deferred")
	id := waitIn(t, s, "deferred", 1)[0]
	asNobody := func(args ...string) (string, string, error) {
		cmd := exec.Command(filepath.Join(binDir, "postern"), append([]string{"-c", s.Config}, args...)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(nobody.UID), Gid: uint32(nobody.GID)}}
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}
	// The spool's queues are private: nobody cannot read them itself.
	if st, err := os.Stat(filepath.Join(s.Dir, "spool", "deferred")); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("deferred/: %v %v", st.Mode(), err)
	}
	out, errs, err := asNobody("queue", "list")
	if err != nil || !strings.Contains(out, id+" ") || !strings.Contains(out, "b@defer.test") || errs != "" {
		t.Errorf("queue list as nobody: %v\n%s%s", err, out, errs)
	}
	if out, _, err := asNobody("queue", "shape", "-j"); err != nil || !strings.Contains(out, `"domain":"defer.test"`) {
		t.Errorf("queue shape as nobody: %v %s", err, out)
	}
	for _, args := range [][]string{{"queue", "delete", "ALL"}, {"queue", "hold", id}, {"queue", "show", id}} {
		_, errs, err := asNobody(args...)
		if err == nil || !strings.Contains(errs, "permission denied") || !strings.Contains(errs, "root or mail_owner") {
			t.Errorf("%v as nobody: %v %q", args, err, errs)
		}
	}
	if ids := waitIn(t, s, "deferred", 1); ids[0] != id {
		t.Errorf("deferred/ holds %v", ids)
	}
	s.Stop()
	_, errs, err = asNobody("queue", "list")
	if err == nil || !strings.Contains(errs, "mail system is down") {
		t.Errorf("queue list as nobody, system down: %v %q", err, errs)
	}
	out, err = s.PosternErr("queue", "list")
	if err != nil || !strings.Contains(out, "Mail system is down -- accessing queue directly") || !strings.Contains(out, id+" ") {
		t.Errorf("queue list as root, system down: %v\n%s", err, out)
	}
}
