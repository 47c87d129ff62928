package local

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"postern.dev/postern/libmail/alias"
	"postern.dev/postern/libmail/daemon"
)

// TestReadForwardChecks: as Postfix's local/dotforward.c, a .forward is
// used only if it is a regular file, not a symbolic link, owned by its
// user or root and not writable by everyone; otherwise it is ignored with
// a warning and mail goes to the mailbox. Before, a symbolic link was
// followed and a world-writable file used.
func TestReadForwardChecks(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	other, err := daemon.LookupUser("daemon")
	if err != nil && os.Geteuid() == 0 {
		t.Skip(err)
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
		root  bool   // needs root
		warn  string // "" if the file is used
	}{
		{"regular", func(t *testing.T, path string) { write(t, path, "far@remote.example\n") }, false, ""},
		{"symbolic link", func(t *testing.T, path string) {
			write(t, path+"-target", "far@remote.example\n")
			if err := os.Symlink(path+"-target", path); err != nil {
				t.Fatal(err)
			}
		}, false, "is not a regular file"},
		{"writable by everyone", func(t *testing.T, path string) {
			write(t, path, "far@remote.example\n")
			if err := os.Chmod(path, 0o666); err != nil {
				t.Fatal(err)
			}
		}, false, "is writable by everyone"},
		{"fifo", func(t *testing.T, path string) {
			if err := syscall.Mkfifo(path, 0o644); err != nil {
				t.Fatal(err)
			}
		}, false, "is not a regular file"},
		{"another user's", func(t *testing.T, path string) {
			write(t, path, "far@remote.example\n")
			if err := os.Chown(path, other.UID, other.GID); err != nil {
				t.Fatal(err)
			}
		}, true, "has bad owner uid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root && os.Geteuid() != 0 {
				t.Skip("needs root")
			}
			home := t.TempDir()
			tt.setup(t, filepath.Join(home, ".forward"))
			u := &daemon.User{Name: e.me.Name, UID: e.me.UID, GID: e.me.GID, Home: home}
			before := len(e.log.String())
			targets, err := e.agent.readForward(u)
			if err != nil {
				t.Fatalf("readForward: %v", err)
			}
			log := e.log.String()[before:]
			if tt.warn == "" {
				if len(targets) != 1 || targets[0] != (alias.Target{Kind: alias.Address, Value: "far@remote.example"}) {
					t.Errorf("targets %v, want far@remote.example", targets)
				}
				return
			}
			if len(targets) != 0 {
				t.Errorf("targets %v from a .forward that %s", targets, tt.warn)
			}
			if !strings.Contains(log, filepath.Join(home, ".forward")+" "+tt.warn) || !strings.Contains(log, ": ignored") {
				t.Errorf("log %q lacks %q", log, tt.warn)
			}
		})
	}
}
