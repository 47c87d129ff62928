// Package packaging tests the Debian package the way an admin meets it:
// built by make deb, checked by lintian, installed with dpkg into a
// throwaway Debian, running and delivering mail, then removed and purged.
package packaging

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDebPackage: the .deb is lintian-clean; dpkg -i into a debootstrap
// chroot creates the users, /etc/aliases and the accounts file; the
// configuration is a conffile that a reinstall keeps; `postern start`
// gives a running MTA that delivers mail submitted with SMTP and with
// /usr/sbin/sendmail (by an ordinary user) to a system user's home
// Maildir, with postmaster reaching root's alias; dpkg -r stops it and
// keeps configuration and queue; dpkg --purge leaves only what Debian
// policy keeps (/etc/aliases, users, mailboxes, logs).
func TestDebPackage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (dpkg and chroot)")
	}
	if testing.Short() {
		t.Skip("builds a package and a Debian chroot (about a minute)")
	}
	for _, tool := range []string{"make", "dpkg-deb", "lintian", "debootstrap", "unshare", "swaks"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is needed (apt-get install lintian debootstrap swaks): %v", tool, err)
		}
	}
	dir := t.TempDir()
	deb := buildDeb(t, dir)
	lint(t, deb)

	_, nspawnErr := exec.LookPath("systemd-nspawn")
	c := newChroot(t, dir, nspawnErr == nil)
	// alice is the machine's first user: her home gets mail, and the
	// aliases file that post-install writes sends root's mail to her.
	c.run("useradd", "--create-home", "--shell", "/bin/sh", "alice")
	before := c.files()
	copyFile(t, deb, c.path("/tmp/postern.deb"))

	out := c.run("dpkg", "-i", "/tmp/postern.deb")
	t.Logf("dpkg -i:\n%s", out)
	checkInstalled(t, c)

	// The test's settings go into the conffile; a reinstall keeps them.
	port := freePort(t)
	f, err := os.OpenFile(c.path("/etc/postern/postern.toml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, testSettings(port, `"/var/log/postern.log"`))
	f.Close()
	c.run("dpkg", "-i", "--force-confold", "/tmp/postern.deb")
	if !strings.Contains(c.read("/etc/postern/postern.toml"), "TestDebPackage") {
		t.Fatal("reinstalling the package lost the admin's changes to /etc/postern/postern.toml")
	}
	if out, err := c.command("postern", "check").CombinedOutput(); err != nil {
		t.Errorf("postern check after installation: %v\n%s", err, out)
	}

	out = c.run("postern", "start")
	m := regexp.MustCompile(`master pid (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("postern start: %s", out)
	}
	pid, _ := strconv.Atoi(m[1])
	t.Cleanup(func() {
		if syscall.Kill(pid, 0) == nil {
			c.command("postern", "stop").Run()
		}
	})

	swaks(t, port, "alice@localhost", "via smtp")
	swaks(t, port, "postmaster@localhost", "to postmaster")
	want := []string{"via smtp", "to postmaster"}
	// The package runs postscreen on port 25; loopback is mynetworks,
	// which its default access list lets through untested.
	if log := c.read("/var/log/postern.log"); !strings.Contains(log, "postscreen[") || !strings.Contains(log, "ALLOWLISTED [127.0.0.1]:") {
		t.Errorf("postscreen did not take the SMTP clients; mail log:\n%s", log)
	}
	if !c.exists("/usr/sbin/sendmail") {
		t.Fatal("the package has no /usr/sbin/sendmail")
	}
	c.runInput("Subject: via sendmail\n\nsent by alice with sendmail\n",
		"setpriv", "--reuid=alice", "--regid=alice", "--init-groups", "/usr/sbin/sendmail", "-i", "alice@localhost")
	want = append(want, "via sendmail")
	for _, link := range []string{"/usr/bin/mailq", "/usr/bin/newaliases", "/usr/lib/sendmail"} {
		if target, err := os.Readlink(c.path(link)); err != nil || filepath.Base(target) != "sendmail" {
			t.Errorf("%s: %q %v, want a link to sendmail", link, target, err)
		}
	}
	waitDelivered(t, c, "/home/alice/Maildir/new", want)
	// An ordinary user's mailq asks showq, and the installed aliases
	// file passes newaliases' check.
	if out := c.run("setpriv", "--reuid=alice", "--regid=alice", "--init-groups", "/usr/bin/mailq"); !strings.Contains(out, "Mail queue is empty") {
		t.Errorf("mailq as alice: %q, want an empty queue", out)
	}
	c.run("/usr/bin/newaliases")

	out = c.run("dpkg", "-r", "postern")
	t.Logf("dpkg -r:\n%s", out)
	if err := waitGone(pid); err != nil {
		t.Errorf("the master after dpkg -r: %v", err)
	}
	for _, p := range []string{"/etc/postern/postern.toml", "/etc/postern/accounts", "/var/spool/postern"} {
		if !c.exists(p) {
			t.Errorf("dpkg -r removed %s; only purge may", p)
		}
	}
	if c.exists("/usr/lib/postern/master") {
		t.Error("dpkg -r left /usr/lib/postern/master")
	}

	c.run("dpkg", "--purge", "postern")
	checkPurged(t, c, before)

	t.Run("systemd", func(t *testing.T) {
		if nspawnErr != nil {
			t.Skipf("systemd-nspawn is needed to boot the chroot (apt-get install systemd-container): %v", nspawnErr)
		}
		testUnderSystemd(t, c, deb)
	})
}

// testSettings is what the test adds to the shipped postern.toml: the
// log in a file (maillog_file; there is no syslog in the chroot), and
// SMTP on a free loopback port only.
func testSettings(port int, maillog string) string {
	return fmt.Sprintf(`
# TestDebPackage
maillog_file = %s
smtpd_peername_lookup = false
[services.smtp]
listen = ["127.0.0.1:%d"]
[services.submission]
enabled = false
[services.submissions]
enabled = false
`, maillog, port)
}

// buildDeb runs make deb into dir and returns the package's path.
func buildDeb(t *testing.T, dir string) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	build := filepath.Join(dir, "build")
	start := time.Now()
	cmd := exec.Command("make", "-C", root, "deb", "BUILD="+build)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make deb: %v\n%s", err, tail(out, 40))
	}
	debs, _ := filepath.Glob(filepath.Join(build, "postern_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("make deb made %v, want one postern_*.deb", debs)
	}
	t.Logf("make deb: %s in %s", filepath.Base(debs[0]), time.Since(start).Round(time.Second))
	return debs[0]
}

// lint fails the test on any lintian error.
func lint(t *testing.T, deb string) {
	t.Helper()
	out, err := exec.Command("lintian", "--fail-on", "error", deb).CombinedOutput()
	if err != nil {
		t.Errorf("lintian: %v\n%s", err, out)
	} else if len(out) > 0 {
		t.Logf("lintian:\n%s", out)
	}
}

// checkInstalled checks what dpkg -i made besides unpacking files.
func checkInstalled(t *testing.T, c *chroot) {
	t.Helper()
	for _, u := range []string{"postern", "vmail"} {
		if out, err := c.command("getent", "passwd", u).Output(); err != nil || !strings.Contains(string(out), "/usr/sbin/nologin") {
			t.Errorf("system user %s: %q %v", u, out, err)
		}
	}
	if conf := c.run("dpkg-query", "-W", "-f=${Conffiles}", "postern"); !strings.Contains(conf, "/etc/postern/postern.toml") {
		t.Errorf("conffiles: %q, want /etc/postern/postern.toml", conf)
	}
	if !regexp.MustCompile(`(?m)^root:\s+alice$`).MatchString(c.read("/etc/aliases")) ||
		!regexp.MustCompile(`(?m)^postmaster:\s+root$`).MatchString(c.read("/etc/aliases")) {
		t.Errorf("/etc/aliases has no postmaster: root and root: alice:\n%s", c.read("/etc/aliases"))
	}
	st, err := os.Stat(c.path("/etc/postern/accounts"))
	if err != nil {
		t.Fatal(err)
	}
	gid := c.run("getent", "group", "postern")
	if want := fmt.Sprintf(":%d:", st.Sys().(*syscall.Stat_t).Gid); st.Mode().Perm() != 0o640 || st.Size() != 0 ||
		st.Sys().(*syscall.Stat_t).Uid != 0 || !strings.Contains(gid, want) {
		t.Errorf("/etc/postern/accounts: mode %o, size %d, owner %d:%d, want an empty 0640 root:postern (%s)",
			st.Mode().Perm(), st.Size(), st.Sys().(*syscall.Stat_t).Uid, st.Sys().(*syscall.Stat_t).Gid, strings.TrimSpace(gid))
	}
	for _, p := range []string{"/usr/sbin/postern", "/usr/lib/postern/master", "/usr/lib/postern/smtpd",
		"/usr/lib/postern/imapd", "/usr/lib/postern/pop3d", "/usr/share/man/man8/imapd.8.gz",
		"/usr/lib/postern/postscreen", "/usr/share/man/man8/postscreen.8.gz",
		"/usr/lib/systemd/system/postern.service", "/usr/share/man/man8/master.8.gz", "/usr/share/doc/postern/copyright",
		"/usr/share/postern/fail2ban/postern.conf"} {
		if !c.exists(p) {
			t.Errorf("the package did not install %s", p)
		}
	}
}

// swaks submits one message with SMTP from the host to the chroot's
// smtpd (the chroot shares the host's network).
func swaks(t *testing.T, port int, to, subject string) {
	t.Helper()
	out, err := exec.Command("swaks", "--server", fmt.Sprintf("127.0.0.1:%d", port), "--from", "sender@example.org",
		"--to", to, "--header", "Subject: "+subject, "--body", "sent with swaks").CombinedOutput()
	if err != nil {
		t.Fatalf("swaks to %s: %v\n%s", to, err, out)
	}
}

// waitDelivered waits until the Maildir dir holds one message with each
// of the subjects.
func waitDelivered(t *testing.T, c *chroot, dir string, subjects []string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var got []string
		names, _ := os.ReadDir(c.path(dir))
		for _, n := range names {
			b, _ := os.ReadFile(filepath.Join(c.path(dir), n.Name()))
			if m := regexp.MustCompile(`(?m)^Subject: (.*?)\r?$`).FindSubmatch(b); m != nil {
				got = append(got, string(m[1]))
			}
		}
		sort.Strings(got)
		missing := []string{}
		for _, s := range subjects {
			if !contains(got, s) {
				missing = append(missing, s)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(c.path("/var/log/postern.log"))
			t.Fatalf("%s holds %q after 30s, missing %q; mail log:\n%s", dir, got, missing, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// checkPurged compares the chroot with its files before the
// installation: what is new must be what Debian keeps after a purge.
func checkPurged(t *testing.T, c *chroot, before map[string]bool) {
	t.Helper()
	kept := regexp.MustCompile(`^(` + strings.Join([]string{
		`/etc/aliases`, // shared by every MTA, not the package's
		`/etc/(passwd|group|shadow|gshadow|subuid|subgid)-?`, // the users stay
		`/var/mail(/vhosts)?`,                                // mailboxes are the users' mail
		`/home/alice/Maildir(/.*)?`,                          // delivered mail
		`/var/log(/.*)?`,                                     // logs
		`/var/lib/dpkg(/.*)?`, `/var/cache(/.*)?`,            // dpkg's own records
	}, "|") + `)$`)
	var left []string
	for p := range c.files() {
		if !before[p] && !kept.MatchString(p) {
			left = append(left, p)
		}
	}
	sort.Strings(left)
	if len(left) > 0 {
		t.Errorf("dpkg --purge left %d paths the package made:\n%s", len(left), strings.Join(left, "\n"))
	}
	for _, p := range []string{"/etc/postern", "/var/spool/postern", "/usr/lib/postern", "/usr/sbin/postern"} {
		if c.exists(p) {
			t.Errorf("dpkg --purge left %s", p)
		}
	}
	if !c.exists("/etc/aliases") {
		t.Error("dpkg --purge removed /etc/aliases, which other MTAs share")
	}
	if _, err := c.command("getent", "passwd", "postern").Output(); err != nil {
		t.Error("dpkg --purge removed the postern user; Debian packages keep theirs")
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitGone waits for process pid to end.
func waitGone(pid int) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("pid %d still runs", pid)
}
