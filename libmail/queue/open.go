package queue

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrMoved says an entry left the queue it was opened in before the
// reader could lock it.
var ErrMoved = errors.New("queue entry moved")

// OpenEntry opens entry id in queue q for reading (and appending records,
// when write is set) and holds a shared flock on it until the file is
// closed. The lock is what makes recycling safe: Recycle gives a file to
// a new entry only if it can lock it exclusively, that is, if nobody is
// reading it. After locking, OpenEntry checks that the path still names
// the file it opened, because a recycler may have taken the file between
// the open and the lock.
func (s *Spool) OpenEntry(q string, id ID, write bool) (*os.File, error) {
	path := s.Path(q, id)
	flag := os.O_RDONLY
	if write {
		flag = os.O_RDWR | os.O_APPEND
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", id, err)
	}
	var a, b unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &a); err != nil {
		f.Close()
		return nil, err
	}
	if err := unix.Stat(path, &b); err != nil || a.Ino != b.Ino || a.Dev != b.Dev {
		f.Close()
		return nil, fmt.Errorf("%s: %w", id, ErrMoved)
	}
	return f, nil
}

// RecycleOpen ends entry id in queue q whose file the caller has open
// (from OpenEntry) as f: if no other process holds a lock on the file it
// moves to spare/ for reuse, otherwise it is unlinked, so that a reader
// keeps the bytes it is reading. The caller closes f afterwards.
func (s *Spool) RecycleOpen(f *os.File, q string, id ID) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		if err := os.Remove(s.Path(q, id)); err != nil {
			return fmt.Errorf("remove %s: %w", id, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("lock %s: %w", id, err)
	}
	return s.recycle(q, id)
}
