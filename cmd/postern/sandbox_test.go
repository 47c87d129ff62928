package main

import (
	"crypto/tls"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"postern.dev/postern/libmail/account"
	"postern.dev/postern/libmail/config"
)

// needSandboxUsers skips a root test when the users and group a root
// sandbox uses are missing: the unit tests do not create system users
// (the end-to-end tests do, through postern sandbox).
func needSandboxUsers(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	for _, u := range []string{"postern", "vmail"} {
		if _, err := user.Lookup(u); err != nil {
			t.Skipf("as root, needs the user %s: %v", u, err)
		}
	}
	if _, err := user.LookupGroup(secretGroup); err != nil {
		t.Skipf("as root, needs the group %s: %v", secretGroup, err)
	}
}

// checkSecret asserts the mode and owner of a secret file: 0600 to the
// user who ran the command, or 0640 root:postern when root did, for the
// daemons that run as postern.
func checkSecretFile(t *testing.T, path string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	mode, uid, gid := os.FileMode(0o600), os.Getuid(), int(sys.Gid)
	if os.Geteuid() == 0 {
		g, err := user.LookupGroup(secretGroup)
		if err != nil {
			t.Fatal(err)
		}
		mode, uid = 0o640, 0
		gid, _ = strconv.Atoi(g.Gid)
	}
	if st.Mode().Perm() != mode || int(sys.Uid) != uid || int(sys.Gid) != gid {
		t.Errorf("%s: mode %o owner %d:%d, want %o %d:%d", path, st.Mode().Perm(), sys.Uid, sys.Gid, mode, uid, gid)
	}
}

// TestSandbox: sandbox writes a configuration that loads, everything it
// names under DIR (spool, mailboxes, log, certificate, aliases, the demo
// account), listeners on loopback at the port base, $myhostname and
// localhost among the local domains (so that mail to the postmaster
// stays here), and secrets only their readers may read. It does not
// overwrite a sandbox without -f; with -f it does, secrets included.
func TestSandbox(t *testing.T) {
	needSandboxUsers(t)
	dir := filepath.Join(t.TempDir(), "sb")
	out, errs, code := postern("sandbox", dir, "-port-base", "20000")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, w := range []string{"postern: sandbox written to " + dir + "\n", "127.0.0.1:20025", "127.0.0.1:20587", "127.0.0.1:20465",
		"demo@example.test (password demo)"} {
		if !strings.Contains(out, w) {
			t.Errorf("the output lacks %q:\n%s", w, out)
		}
	}
	cfgPath := filepath.Join(dir, "postern.toml")
	c, err := config.Load(cfgPath, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bin, _ := binDir()
	if c.MyHostname != "mail.example.test" || c.QueueDirectory != filepath.Join(dir, "spool") || c.DaemonDirectory != bin ||
		c.VirtualMailboxBase != filepath.Join(dir, "mail") || c.MaillogFile != filepath.Join(dir, "log", "maillog") ||
		c.LocalSystemUsers || !slices.Equal(c.AliasMaps, []string{filepath.Join(dir, "aliases")}) {
		t.Errorf("the sandbox's parameters point outside it:\n%s", mustPostern(t, "-c", cfgPath, "config", "show", "-n"))
	}
	for _, d := range []string{"mail.example.test", "localhost", "example.test"} {
		if !slices.Contains(c.MyDestination, d) {
			t.Errorf("mydestination %v lacks %s", c.MyDestination, d)
		}
	}
	for name, port := range map[string]string{"smtp": "20025", "submission": "20587", "submissions": "20465"} {
		s := c.Service(name)
		if s == nil || !s.Enabled || !slices.Equal(s.Listen, []string{"127.0.0.1:" + port}) {
			t.Errorf("service %s: %+v, want enabled on 127.0.0.1:%s", name, s, port)
		}
	}
	if _, err := tls.LoadX509KeyPair(c.SMTPDTLSCertFile, c.SMTPDTLSKeyFile); err != nil {
		t.Errorf("certificate: %v", err)
	}
	accounts, errList := account.Load(c.AccountsFile)
	if len(errList) > 0 {
		t.Fatal(errList)
	}
	if _, ok := accounts.Authenticate("demo@example.test", "demo"); !ok {
		t.Error("demo@example.test does not log in with the password demo")
	}
	checkSecretFile(t, c.AccountsFile)
	checkSecretFile(t, c.SMTPDTLSKeyFile)
	if aliases, err := os.ReadFile(filepath.Join(dir, "aliases")); err != nil || !strings.Contains(string(aliases), "\npostmaster: demo@example.test\n") {
		t.Errorf("aliases: %q %v", aliases, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.new")); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}

	// Again: refused without -f, and nothing changes.
	before, _ := os.ReadFile(cfgPath)
	if _, errs, code := postern("sandbox", dir); code != 1 || errs != "postern: "+cfgPath+" exists; use -f to overwrite it\n" {
		t.Errorf("a second sandbox without -f: exit %d, %q", code, errs)
	}
	if after, _ := os.ReadFile(cfgPath); string(after) != string(before) {
		t.Error("a refused sandbox changed postern.toml")
	}
	// With -f it is rewritten, and a secret an admin opened up is
	// private again.
	if err := os.Chmod(c.AccountsFile, 0o644); err != nil {
		t.Fatal(err)
	}
	out = mustPostern(t, "sandbox", "-f", "-port-base", "21000", dir)
	if c, err := config.Load(cfgPath, config.Options{}); err != nil || c.Service("smtp").Listen[0] != "127.0.0.1:21025" {
		t.Errorf("sandbox -f did not rewrite the configuration: %v\n%s", err, out)
	}
	checkSecretFile(t, c.AccountsFile)
}

// TestSandboxUnreachableWarning: as root, sandbox warns when a parent of
// DIR is closed to others, since the daemons run as postern and vmail.
func TestSandboxUnreachableWarning(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	needSandboxUsers(t)
	closed := t.TempDir()
	if err := os.Chmod(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(closed, "sb")
	_, errs, code := postern("sandbox", dir)
	if want := "postern: warning: " + closed + " is not searchable by others"; code != 0 || !strings.HasPrefix(errs, want) {
		t.Errorf("exit %d, %q; want %q", code, errs, want)
	}
}
