package daemon

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
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
