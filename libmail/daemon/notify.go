package daemon

import (
	"context"
	"net"
	"os"
	"strconv"
)

// The master passes each daemon two descriptors besides its sockets:
//
//   - a status socket (one end of a socketpair per process): the daemon
//     writes READY=1 on it when it serves, and reads EOF from it when the
//     master is gone, which is its cue to finish and exit so that a new
//     master can take over. A pair per process tells the master who spoke
//     without credential passing.
//   - the master's lock file: the lock is held by its open file
//     description, so as long as any daemon of this master runs, a new
//     master cannot start on the same spool and have two queue managers.
const (
	StatusFDEnv = "POSTERN_STATUS_FD"
	LockFDEnv   = "POSTERN_LOCK_FD"
)

// masterLink is a daemon's end of the status socket.
type masterLink struct {
	status *os.File
	lock   *os.File // held open, never used: see LockFDEnv
}

func linkToMaster() *masterLink {
	l := &masterLink{}
	if fd, err := strconv.Atoi(os.Getenv(StatusFDEnv)); err == nil && fd > 2 {
		l.status = os.NewFile(uintptr(fd), "master-status")
	}
	if fd, err := strconv.Atoi(os.Getenv(LockFDEnv)); err == nil && fd > 2 {
		l.lock = os.NewFile(uintptr(fd), "master-lock")
	}
	os.Unsetenv(StatusFDEnv)
	os.Unsetenv(LockFDEnv)
	return l
}

// underMaster reports whether a master started this process.
func (l *masterLink) underMaster() bool { return l.status != nil }

// notifier returns the function that announces readiness, to the master or
// to systemd's NOTIFY_SOCKET, or a no-op.
func (l *masterLink) notifier() func() {
	if l.status != nil {
		return func() { l.status.Write([]byte("READY=1\n")) }
	}
	if sock := os.Getenv("NOTIFY_SOCKET"); sock != "" {
		return func() {
			c, err := net.Dial("unixgram", sock)
			if err == nil {
				c.Write([]byte("READY=1"))
				c.Close()
			}
		}
	}
	return func() {}
}

// watch cancels the daemon's context when the master goes away.
func (l *masterLink) watch(cancel context.CancelFunc) {
	if l.status == nil {
		return
	}
	go func() {
		buf := make([]byte, 64)
		for {
			if _, err := l.status.Read(buf); err != nil {
				cancel()
				return
			}
		}
	}()
}
