package packaging

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chroot is a throwaway Debian system made by debootstrap, where the
// package is installed as an admin would install it.
type chroot struct {
	t    *testing.T
	root string
}

// newChroot makes a minimal Debian of the host's release (minbase:
// dpkg, apt, passwd, coreutils; 25 to 60 seconds from the mirror), with
// systemd when withSystemd, so that systemd-nspawn can boot it.
func newChroot(t *testing.T, dir string, withSystemd bool) *chroot {
	t.Helper()
	suite := osRelease("VERSION_CODENAME")
	if suite == "" {
		t.Skip("not a Debian host: no VERSION_CODENAME in /etc/os-release")
	}
	mirror := os.Getenv("POSTERN_DEBIAN_MIRROR")
	if mirror == "" {
		mirror = "http://deb.debian.org/debian"
	}
	root := filepath.Join(dir, "root")
	start := time.Now()
	args := []string{"--variant=minbase"}
	if withSystemd {
		args = append(args, "--include=systemd,systemd-sysv,dbus")
	}
	cmd := exec.Command("debootstrap", append(args, suite, root, mirror)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("debootstrap %s %s: %v\n%s", suite, mirror, err, tail(out, 30))
	}
	t.Logf("debootstrap %s: %s", suite, time.Since(start).Round(time.Second))
	return &chroot{t: t, root: root}
}

// command is args run inside the chroot as root, with /proc mounted
// in a mount namespace of its own, so that no mount is ever seen
// outside, and removing the tree can never reach the host's /proc.
func (c *chroot) command(args ...string) *exec.Cmd {
	script := `mount -t proc proc "$0/proc" && exec chroot "$0" "$@"`
	cmd := exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "sh", "-c", script, c.root}, args...)...)
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
		"DEBIAN_FRONTEND=noninteractive", "HOME=/root"}
	return cmd
}

// run runs args in the chroot and returns their output; failing is fatal.
func (c *chroot) run(args ...string) string {
	c.t.Helper()
	out, err := c.command(args...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("in the chroot, %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// runInput is run with stdin.
func (c *chroot) runInput(stdin string, args ...string) string {
	c.t.Helper()
	cmd := c.command(args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("in the chroot, %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// path is p inside the chroot, as the host sees it.
func (c *chroot) path(p string) string { return filepath.Join(c.root, p) }

// read returns a file of the chroot.
func (c *chroot) read(p string) string {
	c.t.Helper()
	b, err := os.ReadFile(c.path(p))
	if err != nil {
		c.t.Fatal(err)
	}
	return string(b)
}

// exists tells whether p is in the chroot (a dangling link counts).
func (c *chroot) exists(p string) bool {
	_, err := os.Lstat(c.path(p))
	return err == nil
}

// files lists every path in the chroot but the kernel's and the
// scratch ones (proc, dev, sys, run, tmp).
func (c *chroot) files() map[string]bool {
	c.t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir(c.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := "/" + strings.TrimPrefix(p, c.root)
		rel = filepath.Clean(rel)
		switch rel {
		case "/proc", "/dev", "/sys", "/run", "/tmp":
			return filepath.SkipDir
		}
		out[rel] = true
		return nil
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

func osRelease(key string) string {
	b, _ := os.ReadFile("/etc/os-release")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// tail is the last n lines of out.
func tail(out []byte, n int) string {
	lines := bytes.Split(bytes.TrimRight(out, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// copyFile copies src to dst.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
