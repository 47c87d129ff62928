package master

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/queue"
)

func spoolParams(dir string) *config.Params {
	p := &config.Params{}
	p.QueueDirectory = filepath.Join(dir, "spool")
	p.VirtualMailboxBase = filepath.Join(dir, "mail", "vhosts")
	return p
}

func checkDir(t *testing.T, path string, mode os.FileMode, uid, gid int) {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Error(err)
		return
	}
	sys := st.Sys().(*syscall.Stat_t)
	if !st.IsDir() || st.Mode().Perm() != mode || (uid >= 0 && (int(sys.Uid) != uid || int(sys.Gid) != gid)) {
		t.Errorf("%s: %v %d:%d, want a directory %v %d:%d", path, st.Mode(), sys.Uid, sys.Gid, mode, uid, gid)
	}
}

// TestMakeSpool: the spool gets every directory of the queue layout with
// its mode, and a mode an admin changed is put back; the mailbox base is
// made when missing and otherwise left as the admin made it; something
// that is not a directory where one belongs stops the master.
func TestMakeSpool(t *testing.T) {
	dir := t.TempDir()
	p := spoolParams(dir)
	me, err := daemon.Current()
	if err != nil {
		t.Fatal(err)
	}
	id := &identity{owner: me, vmail: me}
	if err := makeSpool(p, id); err != nil {
		t.Fatal(err)
	}
	checkDir(t, p.QueueDirectory, 0o755, -1, -1)
	for _, d := range queue.Layout {
		checkDir(t, filepath.Join(p.QueueDirectory, d.Name), d.Mode, -1, -1)
	}
	checkDir(t, p.VirtualMailboxBase, 0o755, -1, -1)

	incoming := filepath.Join(p.QueueDirectory, queue.Incoming)
	if err := os.Chmod(incoming, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p.VirtualMailboxBase, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := makeSpool(p, id); err != nil {
		t.Fatal(err)
	}
	checkDir(t, incoming, 0o700, -1, -1)
	checkDir(t, p.VirtualMailboxBase, 0o750, -1, -1)

	hold := filepath.Join(p.QueueDirectory, queue.Hold)
	if err := os.Remove(hold); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hold, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := makeSpool(p, id); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("a file in place of hold/: %v, want an error", err)
	}
}

// TestMakeSpoolOwners: under a root master the queue directories belong
// to mail_owner, pid/ to root, the mailbox base to vmail_user, and an
// owner changed behind the master's back is put back.
func TestMakeSpoolOwners(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dir := t.TempDir()
	p := spoolParams(dir)
	id := &identity{root: true, owner: &daemon.User{Name: "owner", UID: 4242, GID: 4243},
		vmail: &daemon.User{Name: "vmail", UID: 4244, GID: 4245}}
	if err := makeSpool(p, id); err != nil {
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		for _, d := range queue.Layout {
			uid, gid := 4242, 4243
			if d.Owner == "root" {
				uid, gid = 0, 0
			}
			checkDir(t, filepath.Join(p.QueueDirectory, d.Name), d.Mode, uid, gid)
		}
		checkDir(t, p.VirtualMailboxBase, 0o755, 4244, 4245)
	}
	check()
	if err := os.Chown(filepath.Join(p.QueueDirectory, queue.Active), 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(p.QueueDirectory, "pid"), 4242, 4243); err != nil {
		t.Fatal(err)
	}
	if err := makeSpool(p, id); err != nil {
		t.Fatal(err)
	}
	check()
}

// TestClearTmp: what killed writers left in tmp/ goes, and only files.
func TestClearTmp(t *testing.T) {
	root := t.TempDir()
	tmp := filepath.Join(root, queue.Tmp)
	for _, d := range []string{tmp, filepath.Join(tmp, "dir")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"a", "b"} {
		if err := os.WriteFile(filepath.Join(tmp, f), []byte("half an entry"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if n := clearTmp(root); n != 2 {
		t.Errorf("removed %d entries, want 2", n)
	}
	left, _ := os.ReadDir(tmp)
	if len(left) != 1 || left[0].Name() != "dir" {
		t.Errorf("left %v in tmp/, want the directory only", left)
	}
	if n := clearTmp(filepath.Join(root, "missing")); n != 0 {
		t.Errorf("removed %d entries from a missing spool", n)
	}
}
