package daemon

import (
	"bufio"
	"context"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"postern.dev/postern/libmail/metrics"
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
//
// On the status socket the master also asks for the daemon's metrics
// (metrics.Ask) when /metrics is scraped; the daemon answers with its
// snapshot, sends one every pushInterval when its counts changed, and a
// last one as it exits, so what it counted outlives it (package
// metrics).
const (
	StatusFDEnv = "POSTERN_STATUS_FD"
	LockFDEnv   = "POSTERN_LOCK_FD"
)

// pushInterval is how often a daemon sends its metrics unasked when
// they changed: what a daemon killed with SIGKILL loses is at most that
// much counting.
const pushInterval = 5 * time.Second

// masterLink is a daemon's end of the status socket.
type masterLink struct {
	status *os.File
	lock   *os.File // held open, never used: see LockFDEnv
	wmu    sync.Mutex
	sent   uint64 // the Set's change count at the last report
}

func linkToMaster() *masterLink {
	l := &masterLink{}
	if fd, err := strconv.Atoi(os.Getenv(StatusFDEnv)); err == nil && fd > 2 {
		// Not inherited by what the daemon starts (local's per-delivery
		// children): the master must see EOF when the daemon ends.
		syscall.CloseOnExec(fd)
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
		return func() { l.write([]byte("READY=1\n")) }
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

// write sends one line; lines from several goroutines never interleave.
func (l *masterLink) write(line []byte) {
	l.wmu.Lock()
	l.status.Write(line)
	l.wmu.Unlock()
}

// report sends the snapshot of set, unless force is false and nothing
// changed since the last report.
func (l *masterLink) report(set *metrics.Set, force bool) {
	if l.status == nil || set == nil {
		return
	}
	snap, n := set.SnapshotChanges()
	l.wmu.Lock()
	defer l.wmu.Unlock()
	if !force && n == l.sent {
		return
	}
	l.sent = n
	l.status.Write(snap.Line())
}

// watch answers the master's requests for metrics, reports changed
// metrics every pushInterval, and cancels the daemon's context when the
// master goes away.
func (l *masterLink) watch(cancel context.CancelFunc, set *metrics.Set) {
	if l.status == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(l.status)
		for sc.Scan() {
			if sc.Text() == metrics.Ask {
				l.report(set, true)
			}
		}
		cancel()
	}()
	go func() {
		t := time.NewTicker(pushInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				l.report(set, false)
			}
		}
	}()
}
