package packaging

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

// testUnderSystemd boots the purged chroot with systemd-nspawn and
// installs the package again: the postinst enables and starts the unit,
// which reaches active only through the master's READY=1 (Type=notify);
// under the unit's sandboxing, mail reaches a system user's home
// Maildir; systemctl reload works; purge stops and disables the unit.
func testUnderSystemd(t *testing.T, c *chroot, deb string) {
	// The admin's configuration is there before the package (dpkg keeps
	// it with --force-confold): the test's port from the start.
	port := freePort(t)
	shipped, err := os.ReadFile(filepath.Join("..", "..", "conf", "postern.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(c.path("/etc/postern"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Under systemd the log goes to the journal, through syslog.
	conf := string(shipped) + testSettings(port, `""`)
	if err := os.WriteFile(c.path("/etc/postern/postern.toml"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	copyFile(t, deb, c.path("/root/postern.deb")) // /tmp is a tmpfs under systemd

	b := boot(t, c)
	if out, err := b.run("dpkg", "-i", "--force-confold", "/root/postern.deb"); err != nil {
		t.Fatalf("dpkg -i under systemd: %v\n%s", err, out)
	}
	if out, _ := b.run("systemctl", "is-active", "postern"); strings.TrimSpace(out) != "active" {
		status, _ := b.run("systemctl", "status", "--no-pager", "postern")
		t.Fatalf("after dpkg -i the unit is %q, want active:\n%s", out, status)
	}
	if out, _ := b.run("systemctl", "show", "-p", "StatusText", "postern"); !strings.Contains(out, "all services ready") {
		t.Errorf("the unit's status %q, want the master's \"all services ready\"", out)
	}
	if out, _ := b.run("systemctl", "is-enabled", "postern"); strings.TrimSpace(out) != "enabled" {
		t.Errorf("after dpkg -i the unit is %q, want enabled", out)
	}

	swaks(t, port, "alice@localhost", "under systemd")
	waitDelivered(t, c, "/home/alice/Maildir/new", []string{"under systemd"})
	if out, err := b.run("systemctl", "reload", "postern"); err != nil {
		t.Errorf("systemctl reload: %v\n%s", err, out)
	}
	swaks(t, port, "alice@localhost", "after reload")
	waitDelivered(t, c, "/home/alice/Maildir/new", []string{"under systemd", "after reload"})

	if out, err := b.run("dpkg", "--purge", "postern"); err != nil {
		t.Fatalf("dpkg --purge under systemd: %v\n%s", err, out)
	}
	if out, _ := b.run("systemctl", "is-active", "postern"); strings.TrimSpace(out) == "active" {
		t.Error("the unit is still active after dpkg --purge")
	}
	if c.exists("/etc/systemd/system/multi-user.target.wants/postern.service") {
		t.Error("dpkg --purge left the unit enabled")
	}
}

// booted is a chroot that systemd-nspawn runs systemd in.
type booted struct {
	t    *testing.T
	init int // the container's systemd, as the host sees it
}

// boot starts systemd in the chroot and waits until it runs; when the
// host cannot boot a container (no cgroups for it, say) the test skips.
func boot(t *testing.T, c *chroot) *booted {
	t.Helper()
	cmd := exec.Command("systemd-nspawn", "--register=no", "--keep-unit", "--console=pipe", "-q", "-D", c.root, "-b")
	log := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Skipf("systemd-nspawn: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	b := &booted{t: t}
	t.Cleanup(func() {
		if b.init > 0 {
			b.run("systemctl", "poweroff")
		}
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			// Killing nspawn alone would leave the container's systemd
			// running; SIGKILL to the init of a pid namespace ends all.
			if init := childOf(cmd.Process.Pid); init > 0 {
				syscall.Kill(init, syscall.SIGKILL)
			}
			cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for b.init == 0 {
		select {
		case <-exited:
			t.Skipf("systemd-nspawn could not boot the chroot here:\n%s", log.String())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Skipf("systemd did not start in the chroot in 60s:\n%s", log.String())
		}
		b.init = childOf(cmd.Process.Pid)
	}
	// systemctl fails until systemd listens on its socket; then --wait
	// waits for the boot to finish.
	for {
		out, _ := b.run("systemctl", "is-system-running", "--wait")
		switch s := strings.TrimSpace(out); {
		case s == "running" || s == "degraded":
			return b
		case time.Now().After(deadline):
			t.Skipf("systemd in the chroot is %q after 60s, not running:\n%s", s, log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// run runs args in the booted system's namespaces.
func (b *booted) run(args ...string) (string, error) {
	cmd := exec.Command("nsenter", append([]string{"-t", strconv.Itoa(b.init), "-a", "env", "-i",
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// childOf is the first child of pid, or 0.
func childOf(pid int) int {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		if fields := strings.Fields(string(b)); len(fields) > 0 {
			n, _ := strconv.Atoi(fields[0])
			return n
		}
	}
	return 0
}
