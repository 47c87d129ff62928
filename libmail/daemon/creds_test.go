package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestAsUserSameUser(t *testing.T) {
	called := false
	if err := AsUser(os.Geteuid(), os.Getegid(), func() error { called = true; return nil }); err != nil || !called {
		t.Fatalf("AsUser as self: %v, called %v", err, called)
	}
}

// As root, files created inside AsUser belong to the target user, and the
// thread gets its identity back afterwards.
func TestAsUserRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755) // t.TempDir makes its parent 0700
	os.Chmod(dir, 0o777)
	const uid, gid = 65534, 65534
	p := filepath.Join(dir, "f")
	err := AsUser(uid, gid, func() error { return os.WriteFile(p, []byte("x"), 0o600) })
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	if s := st.Sys().(*syscall.Stat_t); s.Uid != uid || s.Gid != gid {
		t.Errorf("file owned by %d:%d", s.Uid, s.Gid)
	}
	p2 := filepath.Join(dir, "g")
	os.WriteFile(p2, nil, 0o600)
	st, _ = os.Stat(p2)
	if s := st.Sys().(*syscall.Stat_t); s.Uid != 0 {
		t.Errorf("after AsUser, files are owned by %d", s.Uid)
	}
	// The target user cannot write where it has no permission.
	os.Chmod(dir, 0o755)
	if err := AsUser(uid, gid, func() error { return os.WriteFile(filepath.Join(dir, "h"), nil, 0o600) }); err == nil {
		t.Error("AsUser wrote into a directory the user may not write")
	}
}

// TestAsUserGroups: inside AsUser the thread's supplementary groups are
// the target user's gid alone, not the process's, and only on that
// thread; afterwards the thread has its own back. Before, a file open to
// one of the process's groups (mail_owner's, which may read the accounts
// file and TLS keys) stayed open to every user local acted as.
func TestAsUserGroups(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	const uid, gid, group = 65534, 65534, 4242
	p := filepath.Join(dir, "group-only")
	if err := os.WriteFile(p, []byte("secret"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, 0, group); err != nil {
		t.Fatal(err)
	}
	// The test's own thread stands in for a daemon's: it holds the group
	// (per thread, on a locked thread that dies with the goroutine, so
	// that no other test runs with it).
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		if err := unix.Setgroups([]int{group}); err != nil {
			t.Error(err)
			return
		}
		var inside, others []string
		err := AsUser(uid, gid, func() error {
			inside = threadGroups(t, unix.Gettid())
			for _, tid := range threads(t) {
				if tid != unix.Gettid() {
					others = append(others, strings.Join(threadGroups(t, tid), " "))
				}
			}
			_, err := os.ReadFile(p)
			return err
		})
		if !errors.Is(err, os.ErrPermission) {
			t.Errorf("reading a file open only to the process's group as uid %d: %v, want permission denied", uid, err)
		}
		if !slices.Equal(inside, []string{strconv.Itoa(gid)}) {
			t.Errorf("groups inside AsUser %q, want only %d", inside, gid)
		}
		for _, g := range others {
			if g == strconv.Itoa(gid) {
				t.Errorf("another thread had the groups %q while one acted as uid %d", g, uid)
			}
		}
		if after := threadGroups(t, unix.Gettid()); !slices.Equal(after, []string{strconv.Itoa(group)}) {
			t.Errorf("groups after AsUser %q, want %d back", after, group)
		}
	}()
	<-done
}

// threadGroups reads a thread's supplementary groups.
func threadGroups(t *testing.T, tid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/status", tid))
	if err != nil {
		t.Error(err)
		return nil
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Groups:"); ok {
			return strings.Fields(v)
		}
	}
	return nil
}

// threads lists the process's threads.
func threads(t *testing.T) []int {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, n)
		}
	}
	return out
}
