package e2e

// Tests that need root: privilege separation, the spool's owners and
// modes, and deliveries as system users. They are skipped when the tests
// do not run as root (CI runs them as root).

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"postern.dev/postern/libmail/queue"
)

// The capabilities local keeps (local/doc.go, master/doc.go): CAP_SETUID
// and CAP_SETGID, to start per-delivery children as other users.
const rootLocalCaps = uint64(1)<<unix.CAP_SETUID | uint64(1)<<unix.CAP_SETGID

// TestRootPrivilegeSeparation checks who each process of a running
// sandbox is: the master is root; every daemon runs as mail_owner with
// all four uids and gids (real, effective, saved, file system) switched
// and no root group; smtpd, qmgr and every other daemon but local hold
// no capabilities; local and the session services of imapd and pop3d
// hold CAP_SETUID and CAP_SETGID and nothing else (permitted and
// effective), and, on none of their threads, ambient or inheritable
// ones that their own children would inherit.
func TestRootPrivilegeSeparation(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	s := NewSystem(t, Options{})
	postern := rootLookup(t, "postern")

	st, err := s.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.PID != s.MasterPID() {
		t.Errorf("status says master pid %d, started %d", st.PID, s.MasterPID())
	}
	m := rootProcStatus(t, s.MasterPID())
	if m.UID != [4]int{0, 0, 0, 0} || m.GID != [4]int{0, 0, 0, 0} {
		t.Errorf("master: uid %v gid %v, want root", m.UID, m.GID)
	}

	seen := map[string]int{}
	for _, sv := range st.Services {
		for _, p := range sv.Processes {
			cmd := filepath.Base(sv.Command)
			seen[cmd]++
			ps := rootProcStatus(t, p.PID)
			what := fmt.Sprintf("service %s (%s) pid %d", sv.Name, cmd, p.PID)
			if ps.PPID != s.MasterPID() {
				t.Errorf("%s: parent %d, want the master %d", what, ps.PPID, s.MasterPID())
			}
			want := [4]int{postern.UID, postern.UID, postern.UID, postern.UID}
			if ps.UID != want {
				t.Errorf("%s: uids %v, want %v (postern)", what, ps.UID, want)
			}
			want = [4]int{postern.GID, postern.GID, postern.GID, postern.GID}
			if ps.GID != want {
				t.Errorf("%s: gids %v, want %v (postern)", what, ps.GID, want)
			}
			if slices.Contains(ps.Groups, 0) {
				t.Errorf("%s: supplementary groups %v include root", what, ps.Groups)
			}
			for _, g := range ps.Groups {
				if !slices.Contains(postern.Groups, g) {
					t.Errorf("%s: supplementary group %d is not one of postern's %v", what, g, postern.Groups)
				}
			}
			// Credentials and capabilities are per thread, and children
			// are forked from whichever thread starts them: every
			// thread must be clean, not just the main one.
			for _, tid := range rootThreads(t, p.PID) {
				ts := rootProcStatus(t, tid)
				if ts.CapAmb != 0 || ts.CapInh != 0 {
					t.Errorf("%s thread %d: ambient capabilities %#x, inheritable %#x, want none (its children would inherit them)", what, tid, ts.CapAmb, ts.CapInh)
				}
				if ts.UID != ps.UID || ts.GID != ps.GID || ts.CapEff != ps.CapEff || ts.CapPrm != ps.CapPrm {
					t.Errorf("%s thread %d: uids %v gids %v caps %#x/%#x differ from the main thread's", what, tid, ts.UID, ts.GID, ts.CapPrm, ts.CapEff)
				}
			}
			switch {
			case cmd == "local", strings.HasSuffix(sv.Name, "-session"):
				if ps.CapPrm != rootLocalCaps || ps.CapEff != rootLocalCaps {
					t.Errorf("%s: permitted %#x effective %#x, want exactly CAP_SETUID|CAP_SETGID %#x", what, ps.CapPrm, ps.CapEff, rootLocalCaps)
				}
				if ps.CapInh != 0 {
					t.Errorf("%s: inheritable %#x, want none (they survive execve into a user's command)", what, ps.CapInh)
				}
			default:
				if ps.CapPrm != 0 || ps.CapEff != 0 || ps.CapInh != 0 {
					t.Errorf("%s: capabilities permitted %#x effective %#x inheritable %#x, want none", what, ps.CapPrm, ps.CapEff, ps.CapInh)
				}
			}
		}
	}
	for _, c := range []string{"smtpd", "qmgr", "local", "anvil", "showq"} {
		if seen[c] == 0 {
			t.Errorf("no running %s process in %+v", c, st.Services)
		}
	}
	// The PIDs helper names services, not commands: the MX listener is
	// the service "smtp".
	if len(s.PIDs("qmgr")) != 1 || len(s.PIDs("local")) != 1 || len(s.PIDs("smtp")) == 0 {
		t.Errorf("PIDs: qmgr %v local %v smtp %v", s.PIDs("qmgr"), s.PIDs("local"), s.PIDs("smtp"))
	}
}

// rootUser is a system user as the tests need it.
type rootUser struct {
	Name     string
	UID, GID int
	Groups   []int
	Home     string
}

// rootLookup looks a user up in the system's user database.
func rootLookup(t *testing.T, name string) rootUser {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	r := rootUser{Name: u.Username, UID: uid, GID: gid, Home: u.HomeDir}
	gids, err := u.GroupIds()
	if err != nil {
		t.Fatalf("groups of %s: %v", name, err)
	}
	for _, g := range gids {
		n, _ := strconv.Atoi(g)
		r.Groups = append(r.Groups, n)
	}
	return r
}

// rootProc is what /proc/PID/status and /proc/PID/stat say about who a
// process is.
type rootProc struct {
	PID, PPID, Session int
	UID, GID           [4]int // real, effective, saved, file system
	Groups             []int
	CapInh, CapPrm     uint64
	CapEff, CapAmb     uint64
	Cmdline            []string
}

// rootProcStatus reads a process's identity; a failure fails the test.
func rootProcStatus(t *testing.T, pid int) rootProc {
	t.Helper()
	p, err := readRootProc(pid)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func readRootProc(pid int) (rootProc, error) {
	p := rootProc{PID: pid}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return p, err
	}
	ids := func(s string) (out [4]int, err error) {
		f := strings.Fields(s)
		if len(f) != 4 {
			return out, fmt.Errorf("pid %d: bad id line %q", pid, s)
		}
		for i := range f {
			if out[i], err = strconv.Atoi(f[i]); err != nil {
				return out, err
			}
		}
		return out, nil
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		var err error
		switch k {
		case "PPid":
			p.PPID, err = strconv.Atoi(v)
		case "Uid":
			p.UID, err = ids(v)
		case "Gid":
			p.GID, err = ids(v)
		case "Groups":
			for _, g := range strings.Fields(v) {
				n, err := strconv.Atoi(g)
				if err != nil {
					return p, err
				}
				p.Groups = append(p.Groups, n)
			}
		case "CapInh":
			p.CapInh, err = strconv.ParseUint(v, 16, 64)
		case "CapPrm":
			p.CapPrm, err = strconv.ParseUint(v, 16, 64)
		case "CapEff":
			p.CapEff, err = strconv.ParseUint(v, 16, 64)
		case "CapAmb":
			p.CapAmb, err = strconv.ParseUint(v, 16, 64)
		}
		if err != nil {
			return p, fmt.Errorf("pid %d: %s: %w", pid, k, err)
		}
	}
	// The session is field 6 of stat, after the command name in
	// parentheses (which may itself hold spaces and parentheses).
	b, err = os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return p, err
	}
	rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
	if f := strings.Fields(rest); len(f) > 3 {
		p.Session, _ = strconv.Atoi(f[3])
	}
	b, err = os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return p, err
	}
	p.Cmdline = strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	return p, nil
}

// rootThreads lists a process's threads.
func rootThreads(t *testing.T, pid int) []int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, n)
		}
	}
	return out
}

// rootDescendants returns the processes below pid (children,
// grandchildren, ...), read from /proc. Processes that end while they
// are read are left out.
func rootDescendants(pid int) []rootProc {
	entries, _ := os.ReadDir("/proc")
	children := map[int][]rootProc{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p, err := readRootProc(n)
		if err != nil {
			continue
		}
		children[p.PPID] = append(children[p.PPID], p)
	}
	var out []rootProc
	queue := []int{pid}
	for len(queue) > 0 {
		for _, c := range children[queue[0]] {
			out = append(out, c)
			queue = append(queue, c.PID)
		}
		queue = queue[1:]
	}
	return out
}

// TestRootSpoolOwnership checks the owners and modes the master gives the
// spool (queue.Layout), and that it repairs them at start; that the
// daemons work with the accounts and aliases files as a real installation
// keeps them (0640 root:postern, see cmd/postern/sandbox.go); and that
// virtual mailboxes are made by and for vmail_user, closed to others.
func TestRootSpoolOwnership(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	s := NewSystem(t, Options{NoStart: true})
	postern, vmail := rootLookup(t, "postern"), rootLookup(t, "vmail")
	spool := filepath.Join(s.Dir, "spool")

	// What an admin's mistake or a careless restore might leave: the
	// master must put it right before any daemon uses the spool.
	for name, mode := range map[string]os.FileMode{queue.Incoming: 0o777, "private": 0o755, "pid": 0o700} {
		if err := os.MkdirAll(filepath.Join(spool, name), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(spool, name), mode); err != nil {
			t.Fatal(err)
		}
	}
	nobody := rootLookup(t, "nobody")
	if err := os.MkdirAll(filepath.Join(spool, queue.DeferredQueue), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(spool, queue.DeferredQueue), nobody.UID, nobody.GID); err != nil {
		t.Fatal(err)
	}
	// Password hashes and aliases as a real installation keeps them.
	for _, name := range []string{"accounts", "aliases"} {
		p := filepath.Join(s.Dir, name)
		if err := os.Chown(p, 0, postern.GID); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	s.Start()

	rootCheckOwner(t, spool, 0o755, 0, 0)
	for _, d := range queue.Layout {
		uid, gid := postern.UID, postern.GID
		if d.Owner == "root" {
			uid, gid = 0, 0
		}
		rootCheckOwner(t, filepath.Join(spool, d.Name), d.Mode, uid, gid)
	}
	// Sockets belong to the user of the service that listens on them.
	for _, sock := range []string{"private/local", "public/qmgr"} {
		rootCheckOwner(t, filepath.Join(spool, sock), os.ModeSocket|0o660, postern.UID, postern.GID)
	}
	// But showq's, which answers every local user (postern queue list).
	rootCheckOwner(t, filepath.Join(spool, "public", "showq"), os.ModeSocket|0o666, postern.UID, postern.GID)
	// The master's own files are root's alone.
	rootCheckOwner(t, filepath.Join(spool, "pid", "master.lock"), 0o600, 0, 0)
	rootCheckOwner(t, filepath.Join(spool, "pid", "master.ctl"), os.ModeSocket|0o600, 0, 0)
	// The mail log names senders and recipients: not for everyone.
	if st, err := os.Stat(filepath.Join(s.Dir, "log", "maillog")); err != nil {
		t.Error(err)
	} else if st.Mode().Perm()&0o007 != 0 {
		t.Errorf("maillog has mode %o, readable by others", st.Mode().Perm())
	}

	// Mail to the account and to an alias of it: both readable only
	// through the daemons' group.
	id := rootSend(t, s, "alice@example.org", []string{"demo@example.test", "postmaster@example.test"}, "spool modes", "hello")
	s.WaitMessages("demo@example.test", 2, 15*time.Second)
	s.WaitLog(id+": removed", 10*time.Second)
	for _, name := range []string{"accounts", "aliases"} {
		rootCheckOwner(t, filepath.Join(s.Dir, name), 0o640, 0, postern.GID)
	}

	// The mailbox base belongs to vmail; everything below it is made by
	// local as vmail (its thread's fsuid) and closed to others.
	base := filepath.Join(s.Dir, "mail")
	rootCheckOwner(t, base, os.ModeDir|0o755, vmail.UID, vmail.GID)
	n := 0
	filepath.WalkDir(base, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			t.Error(err)
			return nil
		}
		if path == base {
			return nil
		}
		n++
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = os.ModeDir | 0o700
		}
		rootCheckOwner(t, path, want, vmail.UID, vmail.GID)
		return nil
	})
	if n < 7 { // example.test, demo, tmp, new, cur and two messages
		t.Errorf("only %d entries under %s", n, base)
	}

	// Queue entries, while they exist, are mail_owner's and private; the
	// spare files the writers reuse are too.
	for _, d := range queue.Layout {
		if d.Owner != "mail_owner" || d.Name == "private" || d.Name == "public" {
			continue
		}
		names, _ := os.ReadDir(filepath.Join(spool, d.Name))
		for _, e := range names {
			rootCheckOwner(t, filepath.Join(spool, d.Name, e.Name()), 0o600, postern.UID, postern.GID)
		}
	}
}

// rootCheckOwner checks a path's owner and its type and permission bits
// (mode; a directory's os.ModeDir may be left out; 0 skips the check).
func rootCheckOwner(t *testing.T, path string, mode os.FileMode, uid, gid int) {
	t.Helper()
	st, err := os.Lstat(path)
	if err != nil {
		t.Error(err)
		return
	}
	got := st.Mode() & (os.ModeType | os.ModePerm | os.ModeSticky | os.ModeSetuid | os.ModeSetgid)
	if mode&os.ModeType == 0 && st.IsDir() {
		mode |= os.ModeDir
	}
	if mode&^os.ModeType != 0 && got != mode {
		t.Errorf("%s: mode %v, want %v", path, got, mode)
	}
	sys := st.Sys().(*syscall.Stat_t)
	if int(sys.Uid) != uid || int(sys.Gid) != gid {
		t.Errorf("%s: owner %d:%d, want %d:%d", path, sys.Uid, sys.Gid, uid, gid)
	}
}

// rootSend sends one message over SMTP with a raw dialogue and returns
// its queue ID.
func rootSend(t *testing.T, s *System, from string, to []string, subject, body string) string {
	t.Helper()
	d := Dial(t, s.Addr(25))
	d.Expect("EHLO client.example", "250")
	d.Expect("MAIL FROM:<"+from+">", "250")
	for _, r := range to {
		d.Expect("RCPT TO:<"+r+">", "250")
	}
	d.Expect("DATA", "354")
	d.Send("From: <" + from + ">\r\nTo: <" + to[0] + ">\r\nSubject: " + subject + "\r\n\r\n" + body + "\r\n.\r\n")
	reply := d.Reply()
	_, id, ok := strings.Cut(reply, "queued as ")
	if !strings.HasPrefix(reply, "250") || !ok {
		t.Fatalf("end of DATA: %q", reply)
	}
	d.Expect("QUIT", "221")
	return strings.TrimSpace(id)
}

// rootAddUser creates a system user with a home directory under the
// sandboxes' world-searchable work directory, and removes both when the
// test ends. The home is 0700, as a careful user keeps it: only a
// delivery running as the user can get in.
func rootAddUser(t *testing.T) rootUser {
	t.Helper()
	var b [3]byte
	rand.Read(b[:])
	name := "ptest" + hex.EncodeToString(b[:])
	parent, err := os.MkdirTemp(workDir, "home-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(parent, 0o755)
	home := filepath.Join(parent, name)
	out, err := exec.Command("useradd", "--create-home", "--home-dir", home, "--shell", "/usr/sbin/nologin", "--user-group", name).CombinedOutput()
	if err != nil {
		t.Fatalf("useradd %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", "--remove", name).CombinedOutput(); err != nil {
			t.Logf("userdel %s: %v\n%s", name, err, out)
		}
		if _, err := user.LookupGroup(name); err == nil {
			exec.Command("groupdel", name).Run()
		}
		os.RemoveAll(parent)
	})
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	return rootLookup(t, name)
}

// TestRootSystemUserMaildir delivers to a system user (local_system_users)
// and checks that the message lands in ~/Maildir/ (home_mailbox) written
// by that user: the Maildir and the message belong to the user and are
// closed to others, although the home is closed to the mail system.
func TestRootSystemUserMaildir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	u := rootAddUser(t)
	s := NewSystem(t, Options{Set: []string{"local_system_users=true"}})
	to := u.Name + "@localhost"
	id := rootSend(t, s, "alice@example.org", []string{to, u.Name + "+box@localhost"}, "to a system user", "for "+u.Name)
	s.WaitLog(id+": removed", 15*time.Second)

	md := filepath.Join(u.Home, "Maildir")
	msgs, _ := filepath.Glob(filepath.Join(md, "new", "*"))
	if len(msgs) != 2 {
		t.Fatalf("%d messages in %s, want 2\n%s", len(msgs), md, tail(s.Log(), 20))
	}
	for _, d := range []string{md, filepath.Join(md, "new"), filepath.Join(md, "cur"), filepath.Join(md, "tmp")} {
		rootCheckOwner(t, d, 0o700, u.UID, u.GID)
	}
	var delivered []string
	for _, m := range msgs {
		rootCheckOwner(t, m, 0o600, u.UID, u.GID)
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		if !strings.HasPrefix(text, "Return-Path: <alice@example.org>\nDelivered-To: ") || !strings.Contains(text, "for "+u.Name) {
			t.Errorf("%s:\n%s", m, text)
		}
		line := strings.SplitN(text, "\n", 3)[1]
		delivered = append(delivered, strings.TrimPrefix(line, "Delivered-To: "))
	}
	slices.Sort(delivered)
	if want := []string{u.Name + "+box@localhost", to}; !slices.Equal(delivered, want) {
		t.Errorf("Delivered-To %q, want %q", delivered, want)
	}
	for _, want := range []string{"to=<" + to + ">, relay=local", "status=sent (delivered to maildir)"} {
		if !strings.Contains(s.Log(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
	// Nothing went to the virtual mailboxes.
	if _, err := os.Stat(filepath.Join(s.Dir, "mail", "localhost")); err == nil {
		t.Errorf("a virtual mailbox was made for localhost")
	}
}

// TestRootAliasCommandsAndFiles checks as whom |command and /file
// deliveries from aliases files run (local/doc.go, local/include.go
// aliasRights): as the aliases file's owner, or as default_privs (nobody)
// when root owns it; never as root or as the mail system. The aliases are
// edited while the system runs: they are reread when they change, so no
// newaliases step exists.
func TestRootAliasCommandsAndFiles(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	u := rootAddUser(t)
	nobody := rootLookup(t, "nobody")
	s := NewSystem(t, Options{NoStart: true})
	drop := filepath.Join(s.Dir, "drop")
	if err := os.Mkdir(drop, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(drop, 0o1777) // like /tmp: anyone may create, nobody may replace another's
	userAliases := filepath.Join(s.Dir, "user-aliases")
	if err := os.WriteFile(userAliases, []byte(fmt.Sprintf("ucmd: |id -u > %[1]s/ucmd.out; id -g >> %[1]s/ucmd.out; id -G >> %[1]s/ucmd.out\nufile: %[1]s/ufile.mbox\n", drop)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(userAliases, u.UID, u.GID); err != nil {
		t.Fatal(err)
	}
	s.Postern("config", "set", "alias_maps="+filepath.Join(s.Dir, "aliases")+","+userAliases)
	s.Start()

	// The sandbox's own aliases file is root's.
	f, err := os.OpenFile(filepath.Join(s.Dir, "aliases"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "rcmd: |id -u > %[1]s/rcmd.out; id -g >> %[1]s/rcmd.out; id -G >> %[1]s/rcmd.out\n", drop)
	fmt.Fprintf(f, "rfile: %s/rfile.mbox\n", drop)
	// A file only root could create: delivery must fail, not succeed as root.
	fmt.Fprintf(f, "rdenied: %s/denied.mbox\n", s.Dir)
	f.Close()

	rcpts := []string{"rcmd@example.test", "rfile@example.test", "ucmd@example.test", "ufile@example.test"}
	// smtpd notices the new aliases within a second or so.
	deadline := time.Now().Add(5 * time.Second)
	for {
		d := Dial(t, s.Addr(25))
		d.Expect("EHLO client.example", "250")
		d.Expect("MAIL FROM:<alice@example.org>", "250")
		r := d.Cmd("RCPT TO:<rcmd@example.test>")
		d.Cmd("QUIT")
		if strings.HasPrefix(r, "250") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("new alias still unknown after 5s: %q", r)
		}
		time.Sleep(200 * time.Millisecond)
	}
	id := rootSend(t, s, "alice@example.org", rcpts, "alias targets", "to commands and files")
	denied := rootSend(t, s, "alice@example.org", []string{"rdenied@example.test"}, "denied", "not as root")
	s.WaitLog(id+": removed", 15*time.Second)
	s.WaitLog(denied+": to=<rdenied@example.test>", 15*time.Second)

	checkCmd := func(file string, who rootUser) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(drop, file))
		if err != nil {
			t.Errorf("%s: %v\n%s", file, err, tail(s.Log(), 20))
			return
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != 3 || lines[0] != strconv.Itoa(who.UID) || lines[1] != strconv.Itoa(who.GID) {
			t.Errorf("%s: command ran as %q, want uid %d gid %d (%s)", file, lines, who.UID, who.GID, who.Name)
		} else if slices.Contains(strings.Fields(lines[2]), "0") {
			t.Errorf("%s: command had root among its groups %q", file, lines[2])
		}
		// Its mode is the command's business (and the umask's).
		rootCheckOwner(t, filepath.Join(drop, file), 0, who.UID, who.GID)
	}
	checkFile := func(file, rcpt string, who rootUser) {
		t.Helper()
		path := filepath.Join(drop, file)
		b, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v\n%s", file, err, tail(s.Log(), 20))
			return
		}
		text := string(b)
		if !strings.HasPrefix(text, "From alice@example.org ") || !strings.Contains(text, "\nDelivered-To: "+rcpt+"\n") ||
			!strings.Contains(text, "\nSubject: alias targets\n") || !strings.HasSuffix(text, "to commands and files\n\n") {
			t.Errorf("%s:\n%s", file, text)
		}
		rootCheckOwner(t, path, 0o600, who.UID, who.GID)
	}
	checkCmd("rcmd.out", nobody)
	checkFile("rfile.mbox", "rfile@example.test", nobody)
	checkCmd("ucmd.out", u)
	checkFile("ufile.mbox", "ufile@example.test", u)
	for _, r := range rcpts {
		if !strings.Contains(s.Log(), "to=<"+r+">, relay=local") {
			t.Errorf("log lacks the delivery to %s", r)
		}
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "denied.mbox")); err == nil {
		t.Errorf("%s/denied.mbox was created: a /file delivery from a root-owned aliases file ran as root", s.Dir)
	}
	if !strings.Contains(s.Log(), "to=<rdenied@example.test>, relay=local") || !strings.Contains(s.Log(), "status=deferred (cannot update mailbox "+s.Dir+"/denied.mbox") {
		t.Errorf("delivery to rdenied not deferred\n%s", tail(s.Log(), 20))
	}
}

// TestRootPerDeliveryChild watches the processes local starts for a
// system user whose ~/.forward holds a slow |command and a /file: the
// command's shell, and the per-delivery child "local -child" that appends
// to the file, run as the user (all four ids), in their own session, with
// no capabilities; none runs as root or as the mail system.
func TestRootPerDeliveryChild(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	u := rootAddUser(t)
	mbox := filepath.Join(u.Home, "fwd.mbox")
	out := filepath.Join(u.Home, "cmd.out")
	fwd := fmt.Sprintf("\"|sleep 2; id -u > %s\"\n%s\n", out, mbox)
	for path, text := range map[string]string{filepath.Join(u.Home, ".forward"): fwd, mbox: ""} {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(path, u.UID, u.GID); err != nil {
			t.Fatal(err)
		}
	}
	s := NewSystem(t, Options{Set: []string{"local_system_users=true"}})
	// Hold the mbox's lock, which the child takes before it appends, so
	// that the child stays alive to be looked at.
	lock, err := os.Open(mbox)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	// Registered after NewSystem, so it runs before the master stops.
	t.Cleanup(func() { lock.Close() })
	locals := s.PIDs("local")
	if len(locals) != 1 {
		t.Fatalf("local pids %v", locals)
	}
	id := rootSend(t, s, "alice@example.org", []string{u.Name + "@localhost"}, "forwarded", "to a command and a file")

	postern := rootLookup(t, "postern")
	self := filepath.Join(binDir, "local")
	daemonCmd := rootProcStatus(t, locals[0]).Cmdline
	var sawShell, sawChild bool
	// A process is judged the second time it is seen, so that one caught
	// between fork and exec (still local's copy, or mid-execve) is not
	// taken for what it becomes.
	seen, checked := map[int]bool{}, map[int]bool{}
	deadline := time.Now().Add(10 * time.Second)
	for !(sawShell && sawChild) && time.Now().Before(deadline) {
		for _, p := range rootDescendants(locals[0]) {
			if checked[p.PID] || slices.Equal(p.Cmdline, daemonCmd) {
				continue
			}
			if !seen[p.PID] {
				seen[p.PID] = true
				continue
			}
			checked[p.PID] = true
			what := fmt.Sprintf("pid %d %q", p.PID, p.Cmdline)
			want := [4]int{u.UID, u.UID, u.UID, u.UID}
			if p.UID != want || p.GID != [4]int{u.GID, u.GID, u.GID, u.GID} {
				t.Errorf("%s: uids %v gids %v, want all %d/%d (%s; postern is %d)", what, p.UID, p.GID, u.UID, u.GID, u.Name, postern.UID)
			}
			if slices.Contains(p.Groups, 0) || slices.Contains(p.Groups, postern.GID) {
				t.Errorf("%s: groups %v include root's or postern's", what, p.Groups)
			}
			if p.CapInh != 0 || p.CapPrm != 0 || p.CapEff != 0 || p.CapAmb != 0 {
				t.Errorf("%s: capabilities inheritable %#x permitted %#x effective %#x ambient %#x, want none", what, p.CapInh, p.CapPrm, p.CapEff, p.CapAmb)
			}
			switch {
			case p.PPID == locals[0] && len(p.Cmdline) == 2 && p.Cmdline[0] == self && p.Cmdline[1] == "-child":
				sawChild = true
				if p.Session != p.PID {
					t.Errorf("%s: session %d, want its own", what, p.Session)
				}
			case p.PPID == locals[0] && len(p.Cmdline) == 3 && p.Cmdline[0] == "/bin/sh" && p.Cmdline[1] == "-c":
				sawShell = true
				if p.Session != p.PID {
					t.Errorf("%s: session %d, want its own", what, p.Session)
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !sawShell || !sawChild {
		t.Fatalf("saw the command's shell: %v, saw local -child: %v\n%s", sawShell, sawChild, tail(s.Log(), 20))
	}
	if strings.Contains(s.Log(), id+": removed") {
		t.Fatalf("delivered while the mbox was locked")
	}
	lock.Close()
	s.WaitLog(id+": removed", 10*time.Second)

	b, err := os.ReadFile(out)
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(u.UID) {
		t.Errorf("command output %q %v, want uid %d", b, err, u.UID)
	}
	rootCheckOwner(t, out, 0, u.UID, u.GID)
	b, err = os.ReadFile(mbox)
	if err != nil || !strings.Contains(string(b), "\nSubject: forwarded\n") {
		t.Errorf("mbox %q %v", b, err)
	}
	rootCheckOwner(t, mbox, 0o600, u.UID, u.GID)
	if !strings.Contains(s.Log(), "status=sent (delivered to command: sleep 2; id -u > "+out+"; delivered to file: "+mbox+")") {
		t.Errorf("log lacks the sent line\n%s", tail(s.Log(), 10))
	}
}

// rootForward gives u a ~/.forward holding text, owned by u.
func rootForward(t *testing.T, u rootUser, text string) {
	t.Helper()
	path := filepath.Join(u.Home, ".forward")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, u.UID, u.GID); err != nil {
		t.Fatal(err)
	}
}

// TestRootIncludeAsNamer: an :include: file is opened with the rights of
// whoever named it, a system user's ~/.forward or a root-owned aliases
// file (as default_privs), never with local's own (mail_owner's, whose
// group may read the accounts file). So a user cannot have local read a
// file only postern may read and read its addresses back from the bounce
// or the forwarded copy; and the bounce says the same for a file that is
// there and one that is not.
func TestRootIncludeAsNamer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	postern := rootLookup(t, "postern")
	s := NewSystem(t, Options{NoStart: true, Set: []string{"local_system_users=true"}})
	inc := filepath.Join(s.Dir, "inc")
	if err := os.Mkdir(inc, 0o755); err != nil {
		t.Fatal(err)
	}
	const leak = "leaked-secret@remote.example"
	secret := filepath.Join(inc, "secret")
	if err := os.WriteFile(secret, []byte(leak+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(secret, postern.UID, postern.GID); err != nil {
		t.Fatal(err)
	}
	// The accounts file as a real installation keeps it: the daemons read
	// it through their group, which a user's rights must not include.
	accounts := filepath.Join(s.Dir, "accounts")
	if err := os.Chown(accounts, 0, postern.GID); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(accounts, 0o640); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(accounts)
	if err != nil {
		t.Fatal(err)
	}
	var hash string
	for _, line := range strings.Split(string(b), "\n") {
		if _, h, ok := strings.Cut(line, "demo@example.test:"); ok {
			hash = strings.SplitN(h, ":", 2)[0]
		}
	}
	if hash == "" {
		t.Fatalf("no hash for demo in %s:\n%s", accounts, b)
	}
	missing := filepath.Join(inc, "missing")

	includes := map[string]string{} // recipient -> the file it includes
	for _, path := range []string{secret, accounts, missing} {
		u := rootAddUser(t)
		rootForward(t, u, ":include:"+path+"\n")
		includes[u.Name+"@localhost"] = path
	}
	f, err := os.OpenFile(filepath.Join(s.Dir, "aliases"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "rinc: :include:%s\n", secret)
	f.Close()
	includes["rinc@example.test"] = secret
	s.Start()

	var rcpts []string
	for r := range includes {
		rcpts = append(rcpts, r)
	}
	id := rootSend(t, s, "alice@example.org", rcpts, "include", "as the user")
	for _, r := range rcpts {
		s.WaitLog(id+": to=<"+r+">", 15*time.Second)
	}
	log := s.Log()
	for r, path := range includes {
		want := "to=<" + r + ">, relay=local"
		i := strings.Index(log, want)
		if i < 0 {
			t.Errorf("log lacks %q", want)
			continue
		}
		line, _, _ := strings.Cut(log[i:], "\n")
		if !strings.HasSuffix(line, "dsn=5.3.5, status=bounced (cannot open :include: file "+path+")") {
			t.Errorf("%s: %s", r, line)
		}
	}
	// Nothing of what the files hold reaches the log, a forwarded copy or
	// a bounce.
	if strings.Contains(log, leak) || strings.Contains(log, hash) || strings.Contains(log, "forwarded") {
		t.Errorf("the log shows what the include files hold:\n%s", tail(log, 30))
	}
	filepath.WalkDir(filepath.Join(s.Dir, "spool"), func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err == nil && (strings.Contains(string(b), leak) || strings.Contains(string(b), hash)) {
			t.Errorf("queue file %s holds what an include file held", path)
		}
		return nil
	})
}

// rootCaps reads the capability sets from a copy of /proc/PID/status and
// checks that a process local started for a user held none: inheritable,
// permitted, effective and ambient all empty. (The bounding set is left
// as it is for any login process.)
func rootCaps(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(k, "Cap") || k == "CapBnd" {
			continue
		}
		n++
		if c, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64); err != nil || c != 0 {
			t.Errorf("%s: %s %s, want 0", path, k, strings.TrimSpace(v))
		}
	}
	if n != 4 {
		t.Errorf("%s: %d capability sets besides CapBnd, want 4:\n%s", path, n, b)
	}
}

// TestRootCommandCapabilities: a |command from a .forward or an aliases
// file runs with no capabilities at all. local keeps CAP_SETUID and
// CAP_SETGID to start them as their users; before, it left both in its
// inheritable set (CapInh 0xc0), which survives execve into another user.
func TestRootCommandCapabilities(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	u := rootAddUser(t)
	s := NewSystem(t, Options{NoStart: true, Set: []string{"local_system_users=true"}})
	drop := filepath.Join(s.Dir, "drop")
	if err := os.Mkdir(drop, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(drop, 0o1777)
	fwdOut := filepath.Join(u.Home, "status")
	rootForward(t, u, fmt.Sprintf("\"|cat /proc/self/status > %s\"\n", fwdOut))
	aliasOut := filepath.Join(drop, "alias-status")
	f, err := os.OpenFile(filepath.Join(s.Dir, "aliases"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "caps: \"|cat /proc/self/status > %s\"\n", aliasOut)
	f.Close()
	s.Start()

	id := rootSend(t, s, "alice@example.org", []string{u.Name + "@localhost", "caps@example.test"}, "capabilities", "none")
	s.WaitLog(id+": removed", 15*time.Second)
	rootCaps(t, fwdOut)
	rootCaps(t, aliasOut)
}

// TestRootSendmailSender: a user outside sendmail_trusted_users cannot
// choose the sender with -f: the mail goes out as that user, and the log
// says so; root, who is trusted, can. The master runs as root here, so
// maildrop/ is 1733 postern and nobody writes into it without privilege.
func TestRootSendmailSender(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	s := NewSystem(t, Options{})
	nobody := rootLookup(t, "nobody")
	st, err := os.Stat(filepath.Join(s.Dir, "spool", "maildrop"))
	if err != nil || st.Mode()&(os.ModePerm|os.ModeSticky) != os.ModeSticky|0o733 {
		t.Fatalf("maildrop/: %v %v", st.Mode(), err)
	}
	cred := &syscall.Credential{Uid: uint32(nobody.UID), Gid: uint32(nobody.GID)}
	code, _, stderr := s.sendmail("sendmail", cred, "Subject: forged\n\nx\n", "-f", "ceo@bank.example", "demo@example.test")
	if code != 0 {
		t.Fatalf("sendmail as nobody: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "warning: -f <ceo@bank.example> is kept for trusted users only") {
		t.Errorf("nobody was not warned: %q", stderr)
	}
	got := s.WaitMessages("demo@example.test", 1, 15*time.Second)
	body, head := readMessage(t, got[0])
	if !strings.HasPrefix(head, "return-path: <nobody@mail.example.test>") || strings.Contains(head, "ceo@bank.example") {
		t.Errorf("nobody's mail:\n%s", body)
	}
	s.WaitLog("may not send as <ceo@bank.example>", 5*time.Second)

	code, _, stderr = s.sendmail("sendmail", nil, "Subject: trusted\n\nx\n", "-f", "lists@example.test", "demo@example.test")
	if code != 0 || stderr != "" {
		t.Fatalf("sendmail as root: exit %d: %q", code, stderr)
	}
	got = s.WaitMessages("demo@example.test", 2, 15*time.Second)
	found := false
	for _, m := range got {
		if _, head := readMessage(t, m); strings.Contains(head, "subject: trusted") {
			found = true
			if !strings.HasPrefix(head, "return-path: <lists@example.test>") {
				t.Errorf("root's -f not kept:\n%s", head)
			}
		}
	}
	if !found {
		t.Error("root's message not delivered")
	}
}
