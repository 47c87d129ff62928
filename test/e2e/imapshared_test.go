package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// imapClient is a raw IMAP client that logs in with LOGIN (plaintext
// allowed by the sandbox's login_plaintext_auth) and collects each
// command's responses.
type imapClient struct {
	t   *testing.T
	nc  net.Conn
	r   *bufio.Reader
	tag int
}

func loginIMAP(t *testing.T, s *System) *imapClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.Addr(143), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(60 * time.Second))
	c := &imapClient{t: t, nc: nc, r: bufio.NewReader(nc)}
	c.line()
	if r := c.cmd(`LOGIN demo@example.test demo`); !strings.Contains(r[len(r)-1], " OK ") {
		t.Fatalf("login: %q\n%s", r, tail(s.Log(), 20))
	}
	return c
}

var literalAtEnd = regexp.MustCompile(`\{(\d+)\}$`)

func (c *imapClient) line() string {
	c.t.Helper()
	var b strings.Builder
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		l = strings.TrimSuffix(l, "\r\n")
		b.WriteString(l)
		m := literalAtEnd.FindStringSubmatch(l)
		if m == nil {
			return b.String()
		}
		n, _ := strconv.Atoi(m[1])
		lit := make([]byte, n)
		if _, err := io.ReadFull(c.r, lit); err != nil {
			c.t.Fatal(err)
		}
		b.Write(lit)
	}
}

// cmd sends a command and returns its responses, the tagged one last.
func (c *imapClient) cmd(command string) []string {
	c.t.Helper()
	c.tag++
	tag := fmt.Sprintf("t%d", c.tag)
	if _, err := fmt.Fprintf(c.nc, "%s %s\r\n", tag, command); err != nil {
		c.t.Fatal(err)
	}
	var out []string
	for {
		l := c.line()
		out = append(out, l)
		if strings.HasPrefix(l, tag+" ") {
			if !strings.HasPrefix(l, tag+" OK") {
				c.t.Fatalf("%s: %q", command, out)
			}
			return out
		}
	}
}

var (
	fetchUIDFlags = regexp.MustCompile(`^\* \d+ FETCH \(UID (\d+) FLAGS \(([^)]*)\)`)
	fetchSubject  = regexp.MustCompile(`(?s)^\* \d+ FETCH \(UID (\d+) BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{\d+\}Subject: (\S+)`)
	uidValidity   = regexp.MustCompile(`UIDVALIDITY (\d+)`)
)

// flags is the session's UID→flags map, as UID FETCH 1:* shows it.
func (c *imapClient) flags() map[string]string {
	m := map[string]string{}
	for _, l := range c.cmd("UID FETCH 1:* (FLAGS)") {
		if f := fetchUIDFlags.FindStringSubmatch(l); f != nil {
			fl := strings.Fields(strings.ReplaceAll(f[2], `\Recent`, ""))
			sort.Strings(fl)
			m[f[1]] = strings.Join(fl, " ")
		}
	}
	return m
}

// subjects is the session's UID→Subject map.
func (c *imapClient) subjects() map[string]string {
	m := map[string]string{}
	for _, l := range c.cmd("UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])") {
		if f := fetchSubject.FindStringSubmatch(l); f != nil {
			m[f[1]] = f[2]
		}
	}
	return m
}

// sameUIDs fails if a UID names another message in later than in
// earlier: UIDs are neither reused nor changed.
func sameUIDs(t *testing.T, what string, earlier, later map[string]string) {
	t.Helper()
	bySubject := map[string]string{}
	for uid, subj := range later {
		if old, ok := earlier[uid]; ok && old != subj {
			t.Errorf("%s: UID %s was %q, is %q", what, uid, old, subj)
		}
		if other, ok := bySubject[subj]; ok {
			t.Errorf("%s: %q has UIDs %s and %s", what, subj, other, uid)
		}
		bySubject[subj] = uid
	}
	for uid, subj := range earlier {
		if u, ok := bySubject[subj]; ok && u != uid {
			t.Errorf("%s: %q changed UID %s→%s", what, subj, uid, u)
		}
	}
}

// TestIMAPSharedMailbox: two IMAP sessions on one INBOX while local
// delivers into it. A STORE in one is seen by the other as an
// unsolicited FETCH FLAGS, deliveries as EXISTS; at the end both show
// the same UID→flags map and no UID was reused or changed. Then imapd's
// processes are killed and restarted by the master, then the whole
// system restarts, and each time UIDVALIDITY and every UID stay.
func TestIMAPSharedMailbox(t *testing.T) {
	s := NewSystem(t, Options{Set: []string{"login_plaintext_auth=true"}})
	for i := 0; i < 3; i++ {
		deliverOne(t, s, fmt.Sprintf("m%d", i))
	}
	a, b := loginIMAP(t, s), loginIMAP(t, s)
	selA, selB := a.cmd("SELECT INBOX"), b.cmd("SELECT INBOX")
	validity := uidValidity.FindStringSubmatch(strings.Join(selA, "\n"))
	if validity == nil || !strings.Contains(strings.Join(selB, "\n"), validity[0]) {
		t.Fatalf("UIDVALIDITY differs: %q %q", selA, selB)
	}
	first := a.subjects()
	sawFlags, sawExists := false, false
	for i := 3; i < 8; i++ {
		deliverOne(t, s, fmt.Sprintf("m%d", i))
		a.cmd(fmt.Sprintf("STORE %d +FLAGS (\\Flagged $k%d)", i%3+1, i))
		resp := b.cmd(fmt.Sprintf("UID STORE %d +FLAGS (\\Seen)", i-2))
		for _, l := range append(resp, b.cmd("NOOP")...) {
			// B's own UID STORE answers with UID; the others' changes without.
			sawFlags = sawFlags || strings.Contains(l, " FETCH (FLAGS (") && strings.Contains(l, "\\Flagged")
			sawExists = sawExists || strings.HasSuffix(l, " EXISTS")
		}
		a.cmd("NOOP")
	}
	if !sawFlags || !sawExists {
		t.Errorf("session B saw FETCH FLAGS %v, EXISTS %v", sawFlags, sawExists)
	}
	fa, fb := a.flags(), b.flags()
	if len(fa) != 8 || fmt.Sprint(fa) != fmt.Sprint(fb) {
		t.Errorf("sessions differ:\nA %v\nB %v", fa, fb)
	}
	subjA, subjB := a.subjects(), b.subjects()
	sameUIDs(t, "A", first, subjA)
	sameUIDs(t, "B", subjA, subjB)

	// imapd alone: its login and session-service processes are killed
	// (the master starts new ones), which ends the sessions too.
	killed := append(s.PIDs("imap"), s.PIDs("imap-session")...)
	if len(killed) == 0 {
		t.Fatal("no imapd processes")
	}
	for _, pid := range killed {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if nc, err := net.DialTimeout("tcp", s.Addr(143), time.Second); err == nil {
			l, _ := bufio.NewReader(nc).ReadString('\n')
			nc.Close()
			if strings.HasPrefix(l, "* OK") && !slices.ContainsFunc(s.PIDs("imap-session"), func(p int) bool { return slices.Contains(killed, p) }) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("imapd did not come back\n%s", tail(s.Log(), 20))
		}
		time.Sleep(50 * time.Millisecond)
	}
	c := loginIMAP(t, s)
	if sel := strings.Join(c.cmd("SELECT INBOX"), "\n"); !strings.Contains(sel, validity[0]) {
		t.Errorf("after imapd's restart: %s, want %s", sel, validity[0])
	}
	sameUIDs(t, "imapd restart", subjA, c.subjects())

	// And the whole system.
	s.Stop()
	s.Start()
	c = loginIMAP(t, s)
	if sel := strings.Join(c.cmd("SELECT INBOX"), "\n"); !strings.Contains(sel, validity[0]) {
		t.Errorf("after restart: %s, want %s", sel, validity[0])
	}
	after := c.subjects()
	if len(after) != 8 {
		t.Errorf("after restart %d messages: %v", len(after), after)
	}
	sameUIDs(t, "restart", subjA, after)
	if fc := c.flags(); fmt.Sprint(fc) != fmt.Sprint(fa) {
		t.Errorf("flags after restart:\n%v\nwant\n%v", fc, fa)
	}
}
