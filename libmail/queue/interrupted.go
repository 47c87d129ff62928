package queue

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// MarkInterrupted appends an InterruptedRecord to each of the entries ids
// in queue q, and returns once every record is on stable storage. qmgr
// calls it at startup for the entries a previous run left in active/,
// before it moves them back to incoming/: the mark must be durable before
// the move is, or a second crash would take the entry out of active/ with
// nothing left to say its attempt was cut short. One syncfs(2) covers all
// the records, so a restart after a crash with thousands of entries in
// flight costs one flush, not one per entry. Entries gone meanwhile are
// skipped; the first other error is returned after the rest were tried.
func (s *Spool) MarkInterrupted(q string, ids []ID) error {
	var errs []error
	for _, id := range ids {
		f, err := s.OpenEntry(q, id, true)
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrMoved) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := AppendNoSync(f, InterruptedRecord{}); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
		}
		f.Close()
	}
	if len(ids) > 0 {
		if err := s.syncfs(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// syncfs flushes the file system the spool is on.
func (s *Spool) syncfs() error {
	d, err := os.Open(s.root)
	if err != nil {
		return fmt.Errorf("syncfs: %w", err)
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return fmt.Errorf("syncfs %s: %w", s.root, err)
	}
	return nil
}
