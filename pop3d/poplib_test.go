package pop3d

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/mailbox"
	"postern.dev/postern/libmail/maildir"
)

// TestPoplib runs Python's poplib against Serve on a temporary Maildir
// that the store's Deliver filled (as local does), then checks the
// Maildir: the deleted message is gone and the UIDLs stayed.
func TestPoplib(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not found")
	}
	root := filepath.Join(t.TempDir(), "Maildir")
	w := maildir.NewWriter("mx.example.org", 1, time.Now)
	defer w.Close()
	bodies := []string{
		"Subject: one\r\n\r\nfirst body\r\n.dot line\r\n",
		"Subject: two\r\n\r\nsecond\r\nbody\r\nlines\r\n",
		"Subject: three\r\n\r\n" + strings.Repeat("long line\r\n", 2000),
	}
	for _, b := range bodies {
		if _, _, err := mailbox.Deliver(context.Background(), w, mailbox.Delivery{Root: root, Header: []byte("Return-Path: <a@example.org>\n"), Body: strings.NewReader(b), Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	addr := serveTest(t, func() mailbox.Store {
		s, err := mailbox.Open(context.Background(), root, mailbox.Options{Hostname: "mx.example.org"})
		if err != nil {
			t.Error(err)
			return nil
		}
		return s
	})
	host, port, _ := strings.Cut(addr, ":")
	script := `
import poplib, sys
host, port = sys.argv[1], int(sys.argv[2])
p = poplib.POP3(host, port, timeout=10)
p.user("user"); print(p.pass_("pw").decode())
caps = p.capa()
assert "UIDL" in caps and "TOP" in caps and "PIPELINING" in caps, caps
count, size = p.stat(); print("stat", count, size)
resp, lst, _ = p.list(); print("list", [l.decode() for l in lst])
resp, uidls, _ = p.uidl(); print("uidl", [u.decode() for u in uidls])
resp, lines, octets = p.retr(1); print("retr1", [l.decode() for l in lines], octets)
resp, lines, octets = p.retr(3); assert len(lines) == 2003, len(lines)
resp, lines, _ = p.top(2, 1); print("top", [l.decode() for l in lines])
print(p.dele(2).decode())
print(p.quit().decode())
p = poplib.POP3(host, port, timeout=10)
p.user("user"); p.pass_("pw")
resp, uidls, _ = p.uidl(); print("uidl2", [u.decode() for u in uidls])
p.quit()
`
	out, err := exec.Command(python, "-c", script, host, port).CombinedOutput()
	if err != nil {
		t.Fatalf("poplib: %v\n%s", err, out)
	}
	got := string(out)
	t.Logf("poplib:\n%s", got)
	for _, want := range []string{
		"+OK Logged in.",
		"stat 3 ",
		"retr1 ['Return-Path: <a@example.org>', 'Subject: one', '', 'first body', '.dot line']",
		"top ['Return-Path: <a@example.org>', 'Subject: two', '', 'second']",
		"+OK Marked to be deleted.",
		"+OK Logging out.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("poplib output lacks %q", want)
		}
	}
	// The UIDLs of 1 and 3 are the same in the second session.
	var first, second []string
	for _, l := range strings.Split(got, "\n") {
		if v, ok := strings.CutPrefix(l, "uidl "); ok {
			first = strings.Split(v, ", ")
		}
		if v, ok := strings.CutPrefix(l, "uidl2 "); ok {
			second = strings.Split(v, ", ")
		}
	}
	if len(first) != 3 || len(second) != 2 || uidlOf(first[0]) != uidlOf(second[0]) || uidlOf(first[2]) != uidlOf(second[1]) {
		t.Errorf("UIDLs changed: %v then %v", first, second)
	}
	s, err := mailbox.Open(context.Background(), root, mailbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.Status(context.Background(), "INBOX")
	if err != nil || st.Messages != 2 || st.Unseen != 0 {
		t.Errorf("INBOX after: %+v, %v", st, err)
	}
}

func uidlOf(item string) string {
	f := strings.Fields(strings.Trim(item, "[]'"))
	if len(f) != 2 {
		return item
	}
	return f[1]
}

// TestInUse: a second session on the same account is refused with
// [IN-USE] while the first runs, and admitted after it ends.
func TestInUse(t *testing.T) {
	store := mailbox.NewMemory(time.Now, 0)
	store.Deliver([]byte("Subject: x\n\nbody\n"))
	release, err := store.Exclusive(context.Background(), "pop3")
	if err != nil {
		t.Fatal(err)
	}
	if got := runSession(t, store, "STAT\r\nQUIT\r\n"); got != "-ERR [IN-USE] Mailbox is locked by another POP3 session.\r\n" {
		t.Errorf("while locked: %q", got)
	}
	release()
	if got := runSession(t, store, "STAT\r\nQUIT\r\n"); !strings.Contains(got, "+OK 1 ") {
		t.Errorf("after release: %q", got)
	}
}
