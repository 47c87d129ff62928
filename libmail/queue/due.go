package queue

import (
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// Due returns the entries of queue q (deferred/) whose mtime, their next
// attempt time, is not after now, oldest ID first. It is the queue
// manager's queue run, which looks at every deferred entry: with
// 100,000 of them one run is 100,000 stat calls, so each is an fstatat
// relative to the open directory (no path to build, clean and walk for
// each), and only the due IDs are sorted. Names that are not IDs are
// skipped; an entry that vanishes meanwhile is not due.
func (s *Spool) Due(q string, now time.Time) ([]ID, error) {
	d, names, err := s.readQueue(q)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	fd := int(d.Fd())
	sec, nsec := now.Unix(), int64(now.Nanosecond())
	var due []ID
	var st unix.Stat_t
	for _, n := range names {
		if !Valid(n) {
			continue
		}
		if err := unix.Fstatat(fd, n, &st, 0); err != nil {
			continue
		}
		if m := st.Mtim; m.Sec < sec || m.Sec == sec && m.Nsec <= nsec {
			due = append(due, ID(n))
		}
	}
	slices.Sort(due)
	return due, nil
}
