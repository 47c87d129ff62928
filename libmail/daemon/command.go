package daemon

import (
	"os"
	"os/exec"
	"syscall"
)

// CommandAs prepares a command that runs as u: local's per-delivery
// children (a system user's Maildir, a |command, a /file). The child gets
// its own session, so a command that forks into the background cannot
// keep the delivery's terminal or signals. Running as oneself needs no
// privilege; running as another user needs root or CAP_SETUID/SETGID.
func CommandAs(u *User, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if u.UID != os.Geteuid() || u.GID != os.Getegid() {
		cmd.SysProcAttr.Credential = u.Credential()
	}
	return cmd
}

// Detached prepares a command that outlives its caller: it starts in its
// own session, away from the caller's terminal and its signals. postern
// start uses it for the master.
func Detached(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return cmd
}
