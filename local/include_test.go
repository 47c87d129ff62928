package local

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/daemon"
)

// openDir makes dir and its parent (t.TempDir makes that 0700) open to
// everyone, so that only the modes a test sets below dir decide what
// another user may see.
func openDir(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// expandOne runs the expansion of rcpt with a bound on its time: an
// :include: that hangs the delivery is a failure, not a stuck test.
func expandOne(t *testing.T, e *testEnv, rcpt string) (*expander, error) {
	t.Helper()
	x := &expander{a: e.agent, seen: map[string]bool{}}
	done := make(chan error, 1)
	go func() { done <- x.expand(rcpt, 0, "", nil) }()
	select {
	case err := <-done:
		return x, err
	case <-time.After(10 * time.Second):
		t.Errorf("expand(%s) still running after 10s", rcpt)
		return &expander{a: e.agent}, errors.New("timed out")
	}
}

// TestIncludeOpenedAsNamer: an :include: file is opened with the rights
// of whoever named it (here the aliases file's owner, or default_privs
// for a root-owned aliases file), so it cannot make local read a file
// that user could not, and the answer is the same for a missing file and
// one the user may not see. Before, local opened it as itself (as root
// in a root test run, as mail_owner in production) and delivered to the
// addresses in it; a file local could not read either expanded to
// nothing (5.4.6) where a missing one said "does not exist".
func TestIncludeOpenedAsNamer(t *testing.T) {
	dir := t.TempDir()
	openDir(t, dir)
	secret := filepath.Join(dir, "secret")
	write(t, secret, "leaked@remote.example\n")
	readable := filepath.Join(dir, "readable")
	write(t, readable, "far@remote.example\n")
	hidden := filepath.Join(dir, "hidden")
	write(t, filepath.Join(hidden, "list"), "leaked@remote.example\n")
	var params func(*config.Params)
	if os.Geteuid() == 0 {
		// The aliases file is root's: its includes open as default_privs.
		params = func(p *config.Params) { p.DefaultPrivs = "nobody" }
		if err := os.Chmod(secret, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(hidden, 0o700); err != nil {
			t.Fatal(err)
		}
	} else {
		// The aliases file is the test user's, who may not read these.
		if err := os.Chmod(secret, 0); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(hidden, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(hidden, 0o700) })
	}
	aliases := "secret: :include:" + secret + "\n" +
		"missing: :include:" + filepath.Join(dir, "missing") + "\n" +
		"hidden: :include:" + filepath.Join(hidden, "list") + "\n" +
		"hiddenmissing: :include:" + filepath.Join(hidden, "nothing") + "\n" +
		"readable: :include:" + readable + "\n"
	e := newTestEnv(t, envOptions{aliases: aliases, accounts: expandAccounts, params: params})

	x, err := expandOne(t, e, "readable@example.test")
	if err != nil || describe(e, x.targets) != "remote:far@remote.example@include" {
		t.Fatalf("readable include: %v, targets %s", err, describe(e, x.targets))
	}
	for _, c := range []struct{ rcpt, path string }{
		{"secret", secret},
		{"missing", filepath.Join(dir, "missing")},
		{"hidden", filepath.Join(hidden, "list")},
		{"hiddenmissing", filepath.Join(hidden, "nothing")},
	} {
		x, err := expandOne(t, e, c.rcpt+"@example.test")
		var de *deliveryError
		if !errors.As(err, &de) {
			t.Errorf("%s: expand = %v, targets %s; want an error", c.rcpt, err, describe(e, x.targets))
			continue
		}
		// One answer for all four: permanent, the path and nothing else.
		want := "cannot open :include: file " + c.path
		if de.temp || de.dsn != "5.3.5" || de.text != want {
			t.Errorf("%s: error %s %q temp=%v, want 5.3.5 %q", c.rcpt, de.dsn, de.text, de.temp, want)
		}
		if len(x.targets) != 0 {
			t.Errorf("%s: targets %s from a file the namer cannot read", c.rcpt, describe(e, x.targets))
		}
	}
	if strings.Contains(e.log.String(), "leaked") {
		t.Errorf("the log shows what the unreadable files hold:\n%s", e.log)
	}
}

// TestIncludeDiagnosticsByLine: a value in an :include: file that does
// not parse is logged by file and line, without the text of the line.
func TestIncludeDiagnosticsByLine(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "list")
	write(t, list, "user\nsecret-token <bad@remote.example>\n")
	e := newTestEnv(t, envOptions{aliases: "staff: :include:" + list + "\n", accounts: expandAccounts})
	x, err := expandOne(t, e, "staff@example.test")
	if err != nil || describe(e, x.targets) != "virtual:user@example.test=$V/example.test/user" {
		t.Fatalf("expand = %v, targets %s", err, describe(e, x.targets))
	}
	log := e.log.String()
	if !strings.Contains(log, list+":2: syntax error, value left out") {
		t.Errorf("log lacks the file and line of the bad value:\n%s", log)
	}
	if strings.Contains(log, "secret-token") {
		t.Errorf("log quotes the include file:\n%s", log)
	}
}

// TestIncludeFileType: like Postfix, an :include: file must be a regular
// file that not everyone may write. Before, a FIFO held the delivery
// until someone wrote to it, a directory expanded to nothing, and a
// world-writable file was used.
func TestIncludeFileType(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "dir")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(dir, "open")
	write(t, open, "user\n")
	if err := os.Chmod(open, 0o666); err != nil {
		t.Fatal(err)
	}
	aliases := "fifo: :include:" + fifo + "\ndir: :include:" + sub + "\nopen: :include:" + open + "\n"
	e := newTestEnv(t, envOptions{aliases: aliases, accounts: expandAccounts})
	for _, c := range []struct{ rcpt, text string }{
		{"fifo", ":include: file " + fifo + " is not a regular file"},
		{"dir", ":include: file " + sub + " is not a regular file"},
		{"open", ":include: file " + open + " is writable by everyone"},
	} {
		x, err := expandOne(t, e, c.rcpt+"@example.test")
		var de *deliveryError
		if !errors.As(err, &de) || de.temp || de.dsn != "5.3.5" || de.text != c.text {
			t.Errorf("%s: expand = %v, targets %s; want 5.3.5 %q", c.rcpt, err, describe(e, x.targets), c.text)
		}
	}
}

// TestIncludeRights checks whom the commands in an :include: file run as,
// by Postfix's rule (local/include.c): with the rights of whoever named
// the file, so that a user cannot borrow another's rights by naming a
// file that user owns; only a file named from a root-owned aliases file
// lends its owner's rights, and default_privs stands in for root. Before,
// the include file's owner always lent its rights.
func TestIncludeRights(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (files owned by other users)")
	}
	nobody, err := daemon.LookupUser("nobody")
	if err != nil {
		t.Skip(err)
	}
	other, err := daemon.LookupUser("daemon")
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	openDir(t, dir)
	byOther := filepath.Join(dir, "by-other")
	byRoot := filepath.Join(dir, "by-root")
	write(t, byOther, "|/bin/true other\n")
	write(t, byRoot, "|/bin/true root\n")
	if err := os.Chown(byOther, other.UID, other.GID); err != nil {
		t.Fatal(err)
	}
	aliases := "viaother: :include:" + byOther + "\nviaroot: :include:" + byRoot + "\n"
	params := func(p *config.Params) {
		p.DefaultPrivs = "nobody"
		p.AllowMailToCommands = []string{"alias", "include"}
	}
	for _, c := range []struct {
		name         string
		aliasesOwner *daemon.User // nil: root
		rcpt         string
		want         *daemon.User
	}{
		{"root's aliases, another's include", nil, "viaother", other},
		{"root's aliases, root's include", nil, "viaroot", nobody},
		{"a user's aliases, another's include", nobody, "viaother", nobody},
		{"a user's aliases, root's include", nobody, "viaroot", nobody},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newTestEnv(t, envOptions{aliases: aliases, accounts: expandAccounts, params: params})
			if c.aliasesOwner != nil {
				if err := os.Chown(e.aliases, c.aliasesOwner.UID, c.aliasesOwner.GID); err != nil {
					t.Fatal(err)
				}
			}
			x, err := expandOne(t, e, c.rcpt+"@example.test")
			if err != nil || len(x.targets) != 1 || x.targets[0].user == nil {
				t.Fatalf("expand = %v, targets %s", err, describe(e, x.targets))
			}
			if u := x.targets[0].user; u.UID != c.want.UID {
				t.Errorf("command runs as %s (uid %d), want %s (uid %d)", u.Name, u.UID, c.want.Name, c.want.UID)
			}
		})
	}
}
