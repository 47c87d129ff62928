package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRootSystemUserMailbox: an account whose line names a system user
// in its uid field (as Dovecot's passwd-file does) is that user's
// mailbox: local delivers into the user's home Maildir as the user, and
// POP3 (Python's poplib, through the login front) serves it from there,
// with the session running as the user.
func TestRootSystemUserMailbox(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	u := rootAddUser(t)
	s := NewSystem(t, Options{Set: []string{"login_plaintext_auth=true"}, NoStart: true})
	addr := u.Name + "@example.test"
	f, err := os.OpenFile(filepath.Join(s.Dir, "accounts"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(addr + ":{PLAIN}secret-" + u.Name + ":" + u.Name + "::::::\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s.Start()
	smtpSend(t, s, addr, "for a system user", "read over POP3\r\n")

	box := filepath.Join(u.Home, "Maildir")
	var files []string
	for deadline := time.Now().Add(20 * time.Second); len(files) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		files, _ = filepath.Glob(filepath.Join(box, "new", "*"))
	}
	if len(files) != 1 {
		t.Fatalf("%s/new holds %v\n%s", box, files, tail(s.Log(), 20))
	}
	st, err := os.Stat(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if sys := st.Sys().(*syscall.Stat_t); int(sys.Uid) != u.UID {
		t.Errorf("delivered file owned by uid %d, want the user's %d", sys.Uid, u.UID)
	}

	script := `
import poplib, sys
p = poplib.POP3("127.0.0.1", int(sys.argv[1]))
p.user(sys.argv[2]); p.pass_(sys.argv[3])
print(p.stat()[0])
print(b"\n".join(p.retr(1)[1]).decode())
p.quit()
`
	out, err := exec.Command("/usr/bin/python3", "-c", script, strconv.Itoa(s.Base+110), addr, "secret-"+u.Name).CombinedOutput()
	if err != nil {
		t.Fatalf("poplib: %v\n%s\n%s", err, out, tail(s.Log(), 20))
	}
	if !strings.HasPrefix(string(out), "1\n") || !strings.Contains(string(out), "Subject: for a system user") {
		t.Errorf("poplib read:\n%s", out)
	}
	if !strings.Contains(s.Log(), "user=<"+addr+">: Disconnected: Logged out") {
		t.Errorf("no session end for %s in the log:\n%s", addr, tail(s.Log(), 20))
	}
	// The session ran as the user: the index it wrote is the user's.
	st, err = os.Stat(filepath.Join(box, "postern-index"))
	if err != nil {
		t.Fatalf("the session wrote no index: %v", err)
	}
	if sys := st.Sys().(*syscall.Stat_t); int(sys.Uid) != u.UID {
		t.Errorf("postern-index owned by uid %d, want the user's %d", sys.Uid, u.UID)
	}
}
