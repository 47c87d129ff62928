package master

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"postern.dev/postern/libmail/queue"

	"golang.org/x/sys/unix"

	"postern.dev/postern/libmail/ipc/control"
)

// lockSpool takes the spool lock, waiting up to wait for the daemons of a
// previous master (which hold it through their inherited descriptor) to
// exit. It then writes the pid file.
func lockSpool(root string, wait time.Duration, logf func(string, ...any)) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(root, queue.LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open spool lock: %w", err)
	}
	deadline := time.Now().Add(wait)
	warned := false
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock spool: %w", err)
		}
		if pid := control.ReadPID(root); control.IsMaster(pid) {
			f.Close()
			return nil, fmt.Errorf("the mail system is already running (master pid %d)", pid)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("daemons of a previous master still hold %s; stop them first", f.Name())
		}
		if !warned {
			logf("waiting for the daemons of a previous master to exit")
			warned = true
		}
		time.Sleep(100 * time.Millisecond)
	}
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if err := os.WriteFile(control.PIDPath(root), pid, 0o644); err != nil {
		f.Close()
		return nil, fmt.Errorf("write pid file: %w", err)
	}
	return f, nil
}
