package queue

import (
	"errors"
	"fmt"
	"os"
	"time"

	"postern.dev/postern/libmail/commit"
)

// The administrator's changes to the queue (postern queue hold, release,
// delete, requeue, expire; Postfix's postsuper -h, -H, -d, -r, -e/-f).
//
// They act on the files directly, as postsuper does, while qmgr runs,
// and each is one atomic step that qmgr already copes with, because it
// treats every path as something that may vanish under it:
//
//   - a move is one rename(2) without replacing (RenameNoReplace): qmgr's
//     own moves (incoming/ or deferred/ into active/, active/ into
//     deferred/) race with it, one of the two wins whole, and the loser
//     sees ENOENT. qmgr forgets an entry whose file left active/ (finish
//     finds it gone); the admin's side looks the entry up again and
//     retries (act).
//   - a deletion takes the entry's shared lock like any reader and ends it
//     through RecycleOpen, which unlinks instead of recycling when an
//     agent still has it open, so no one ever reads a recycled file as
//     the old message.
//   - expire appends a record (O_APPEND, one write, fsynced), as the
//     agents append theirs, and qmgr reads it the next time it reads the
//     entry.
//
// An entry qmgr has in active/ may therefore still be delivered by an
// agent that has it open (a held or deleted message can go out once
// more, as in Postfix); its results are appended to the same file
// wherever it was moved, so nothing is delivered twice because of the
// move. tmp/ is never touched: its entries are still being written.

// AdminQueues are the queues the admin commands act on.
var AdminQueues = []string{Hold, Incoming, Active, DeferredQueue}

// ErrNotHere says an entry is not in a queue the action applies to (a
// release of an entry that is not held): not an error, the entry is not
// counted.
var ErrNotHere = errors.New("not in a queue this action applies to")

// act finds entry id in one of qs and applies do to it there, looking it
// up again when it moved away in between (qmgr took it, say); a few
// rounds are enough, since qmgr moves an entry at most twice per attempt.
// It reports whether do succeeded; an entry found in none of qs is not
// an error.
func (s *Spool) act(id ID, qs []string, do func(q string) error) (bool, error) {
	for range 5 {
		q, err := s.Find(id, qs)
		if err != nil {
			return false, nil
		}
		err = do(q)
		if gone(err) {
			continue
		}
		if errors.Is(err, ErrNotHere) {
			return false, nil
		}
		return err == nil, err
	}
	return false, fmt.Errorf("%s: moved too often while being changed; try again", id)
}

// moveNoReplace moves an entry between queues without ever replacing a
// file of the same name.
func (s *Spool) moveNoReplace(id ID, from, to string) error {
	if err := commit.RenameNoReplace(s.Path(from, id), s.Path(to, id)); err != nil {
		return fmt.Errorf("move %s from %s to %s: %w", id, from, to, err)
	}
	return nil
}

// Hold moves entry id to hold/, where nothing delivers it and it never
// expires, from incoming/, active/ or deferred/.
func (s *Spool) Hold(id ID) (bool, error) {
	return s.act(id, []string{Incoming, Active, DeferredQueue}, func(q string) error {
		return s.moveNoReplace(id, q, Hold)
	})
}

// Release moves a held entry to deferred/, due now: the next scan of
// deferred/ takes it (Postfix's postsuper -H).
func (s *Spool) Release(id ID, now time.Time) (bool, error) {
	return s.act(id, []string{Hold}, func(q string) error { return s.release(id, now) })
}

func (s *Spool) release(id ID, now time.Time) error {
	// The mtime first: a deferred entry's mtime is its next attempt, and
	// the entry must not show up in deferred/ still due in the future.
	if err := os.Chtimes(s.Path(Hold, id), now, now); err != nil {
		return err
	}
	return s.moveNoReplace(id, Hold, DeferredQueue)
}

// Requeue moves entry id to incoming/, from any queue but tmp/, so that
// qmgr routes what is left of it again at once (Postfix's postsuper -r).
// An entry in active/ is taken again once qmgr is done with its current
// attempt. The caller wakes qmgr.
func (s *Spool) Requeue(id ID) (bool, error) {
	return s.act(id, AdminQueues, func(q string) error {
		if q == Incoming {
			return nil
		}
		return s.moveNoReplace(id, q, Incoming)
	})
}

// Delete ends entry id, wherever it is but tmp/, as qmgr ends a finished
// one. An agent delivering it now keeps its open file.
func (s *Spool) Delete(id ID) (bool, error) {
	return s.act(id, AdminQueues, func(q string) error {
		f, err := s.OpenEntry(q, id, false)
		if err != nil {
			return err
		}
		defer f.Close()
		return s.RecycleOpen(f, q, id)
	})
}

// Expire asks for entry id to be returned to its sender: qmgr fails every
// recipient still to do at its next attempt and bounces them. A deferred
// entry is made due now; a held one stays held unless release is set
// (Postfix's postsuper -e, and -f with release).
func (s *Spool) Expire(id ID, release bool, now time.Time) (bool, error) {
	return s.act(id, AdminQueues, func(q string) error {
		f, err := s.OpenEntry(q, id, true)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := Append(f, ExpireRecord{}); err != nil {
			return err
		}
		switch {
		case q == DeferredQueue:
			// The entry's file, wherever it went since: a failed Chtimes
			// only means it bounces at its old next attempt.
			_ = os.Chtimes(s.Path(q, id), now, now)
		case q == Hold && release:
			if err := s.release(id, now); err != nil && !gone(err) {
				return err
			}
		}
		return nil
	})
}
