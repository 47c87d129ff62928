package control

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"postern.dev/postern/libmail/queue"
)

// PIDPath returns the master's pid file in the spool at root. Like the
// control socket it is in pid/, so the admin command finds a running
// master from queue_directory alone.
func PIDPath(root string) string { return filepath.Join(root, queue.PIDFile) }

// ReadPID returns the PID in the spool's pid file, or 0.
func ReadPID(root string) int {
	b, err := os.ReadFile(PIDPath(root))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// IsMaster reports whether a process with pid runs and is a master: a pid
// file may be stale and its PID reused by something else, which must
// never be signalled.
func IsMaster(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	argv0, _, _ := strings.Cut(string(b), "\x00")
	return filepath.Base(argv0) == "master"
}
