package queue

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"postern.dev/postern/libmail/commit"
)

// Writer writes one new entry. The message streams through a 64 KiB
// buffer, so a message of any size needs only that much memory; a message
// that fits in the buffer costs one write(2).
type Writer struct {
	s       *Spool
	id      ID
	f       *os.File
	bufp    *[]byte
	buf     []byte
	flushed int64 // bytes already written to the file
	head    int   // length of the envelope part
	err     error
	// reused says f is a recycled spare file that still holds an old
	// entry's bytes past what this one writes (see claimSpare).
	reused bool
	// prepend is the header to put above the message (Prepend), written
	// after it when the entry is committed.
	prepend []byte
	trailer []byte // records decided at the end of the message (Record)
}

// Create starts entry id in tmp/ with env. The caller writes the message
// (CRLF line ends) and then calls Commit or Abort.
func (s *Spool) Create(id ID, env *Envelope) (*Writer, error) {
	if !Valid(string(id)) {
		return nil, fmt.Errorf("create queue entry: bad ID %q", id)
	}
	f := s.claimSpare(id)
	reused := f != nil
	if f == nil {
		var err error
		f, err = os.OpenFile(s.Path(Tmp, id), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create queue entry: %w", err)
		}
	}
	w := &Writer{s: s, id: id, f: f, reused: reused, bufp: s.bufs.Get().(*[]byte)}
	w.buf = appendEnvelope((*w.bufp)[:0], env, 0, 0)
	w.head = len(w.buf)
	return w, nil
}

// ID returns the entry's queue ID.
func (w *Writer) ID() ID { return w.id }

// Size returns the message bytes written so far.
func (w *Writer) Size() int64 { return w.flushed + int64(len(w.buf)) - int64(w.head) }

// Write appends message bytes.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := len(p)
	for len(p) > 0 {
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(); err != nil {
				return n - len(p), err
			}
		}
		c := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+c]
		p = p[c:]
	}
	return n, nil
}

// Prepend adds header fields that every reader of the entry sees above
// the message (Entry.Message): for what is known only once the message
// has been stored, such as Authentication-Results: and DKIM-Signature:.
// field is one or more whole fields with CRLF line ends. Each call puts
// its fields on top of those of earlier calls, as trace fields are
// prepended (RFC 5322 §3.6.7). The fields are written after the message
// and before Commit's fsync, and the entry's header says how long they
// are, so the message is still written once and read once.
func (w *Writer) Prepend(field []byte) error {
	if w.err != nil {
		return w.err
	}
	if !bytes.HasSuffix(field, crlf) {
		return fmt.Errorf("queue entry %s: prepended field does not end in CRLF", w.id)
	}
	if len(w.prepend)+len(field) > MaxPrepend {
		return fmt.Errorf("queue entry %s: prepended header longer than %d bytes", w.id, MaxPrepend)
	}
	w.prepend = append(append(make([]byte, 0, len(field)+len(w.prepend)), field...), w.prepend...)
	return nil
}

var crlf = []byte("\r\n")

// Record adds trailer records that the entry carries from its commit on,
// for facts decided once the message is in: a QuarantineRecord says the
// message goes to its recipients' Junk folders. Like Prepend's fields they
// are written before Commit's fsync, after the prepended header, where
// the agents' progress records will follow.
func (w *Writer) Record(recs ...Record) {
	for _, r := range recs {
		w.trailer = r.appendTo(w.trailer)
	}
}

// WriteString appends message bytes.
func (w *Writer) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

func (w *Writer) flush() error {
	n, err := w.f.Write(w.buf)
	w.flushed += int64(n)
	if err != nil {
		w.err = fmt.Errorf("write queue entry %s: %w", w.id, err)
		return w.err
	}
	w.buf = w.buf[:0]
	return nil
}

// Commit makes the entry durable and visible in incoming/: it writes the
// prepended header and the lengths, fsyncs the file, renames it into
// incoming/ and waits for a directory fsync that covers the rename. Only
// after Commit returns nil may anyone be told that the message is queued.
// On error the entry is gone.
//
// A crash at any step leaves either nothing in incoming/ or the whole
// entry: until the rename the file is only in tmp/, which no reader
// looks at (qmgr removes what a dead writer left there after a day), and
// the rename comes after the fsync of everything the entry holds.
func (w *Writer) Commit() error {
	if err := w.finish(); err != nil {
		w.Abort()
		return err
	}
	tmp := w.s.Path(Tmp, w.id)
	if err := commit.RenameNoReplace(tmp, w.s.Path(Incoming, w.id)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("commit queue entry: %w", err)
	}
	w.s.step(StepRename)
	if err := w.s.syncPolicy().Dir(filepath.Join(w.s.root, Incoming)); err != nil {
		// The entry is in incoming/ but not known to be durable. Leaving it
		// there may deliver a message whose sender was told it failed (a
		// duplicate once they retry); removing it could lose one a reader
		// already took. The first is the lesser evil.
		return fmt.Errorf("commit queue entry %s: %w", w.id, err)
	}
	w.s.step(StepDirSync)
	return nil
}

// The steps of a commit, in order, as the crash test names them.
const (
	StepBegin    = "begin"    // Commit called; part of the message may be in the file
	StepWrite    = "write"    // message and prepended header written, lengths not yet
	StepLengths  = "lengths"  // size and prepend lengths patched
	StepTruncate = "truncate" // a recycled file cut to the entry's length
	StepSync     = "fsync"    // the file fsynced
	StepClose    = "close"    // the file closed
	StepRename   = "rename"   // renamed into incoming/
	StepDirSync  = "dirsync"  // incoming/ fsynced: the entry is durable
)

// finish writes the prepended header, the lengths and the last bytes and
// fsyncs the file.
func (w *Writer) finish() error {
	w.s.step(StepBegin)
	if w.err != nil {
		return w.err
	}
	size := w.Size()
	var pb [64]byte
	lengths := appendDigits(pb[:0], size)
	lengths = append(lengths, "\nprepend "...)
	lengths = appendDigits(lengths, int64(len(w.prepend)))
	if len(lengths) != prependOffset+sizeDigits-sizeOffset {
		return fmt.Errorf("queue entry %s: size %d out of range", w.id, size)
	}
	for _, b := range [][]byte{w.prepend, w.trailer} {
		if len(b) > 0 {
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
	}
	patched := false
	if w.flushed == 0 {
		copy(w.buf[sizeOffset:], lengths)
		patched = true
	}
	if err := w.flush(); err != nil {
		return err
	}
	w.s.step(StepWrite)
	if !patched {
		if _, err := w.f.WriteAt(lengths, int64(sizeOffset)); err != nil {
			return fmt.Errorf("write queue entry %s size: %w", w.id, err)
		}
	}
	w.s.step(StepLengths)
	if w.reused {
		// Cut what is left of the old entry, before the fsync.
		if err := w.f.Truncate(w.flushed); err != nil {
			return fmt.Errorf("truncate queue entry %s: %w", w.id, err)
		}
	}
	w.s.step(StepTruncate)
	if err := w.s.syncPolicy().File(w.f); err != nil {
		return err
	}
	w.s.step(StepSync)
	err := w.f.Close()
	w.f = nil
	w.release()
	if err != nil {
		return fmt.Errorf("close queue entry %s: %w", w.id, err)
	}
	w.s.step(StepClose)
	return nil
}

// Abort discards the entry.
func (w *Writer) Abort() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	os.Remove(w.s.Path(Tmp, w.id))
	w.release()
	if w.err == nil {
		w.err = errors.New("queue entry aborted")
	}
}

func (w *Writer) release() {
	if w.bufp != nil {
		*w.bufp = w.buf[:0]
		w.s.bufs.Put(w.bufp)
		w.bufp, w.buf = nil, nil
	}
}

// List returns the IDs in queue q, skipping names that are not IDs (an
// admin's editor backup, say). Order is the directory's.
func (s *Spool) List(q string) ([]ID, error) {
	d, names, err := s.readQueue(q)
	if err != nil {
		return nil, err
	}
	d.Close()
	ids := make([]ID, 0, len(names))
	for _, n := range names {
		if Valid(n) {
			ids = append(ids, ID(n))
		}
	}
	return ids, nil
}

// readQueue opens queue q's directory and reads its names. The caller
// closes the directory (Due stats the entries relative to it).
func (s *Spool) readQueue(q string) (*os.File, []string, error) {
	d, err := os.Open(filepath.Join(s.root, q))
	if err != nil {
		return nil, nil, fmt.Errorf("list %s queue: %w", q, err)
	}
	names, err := d.Readdirnames(-1)
	if err != nil {
		d.Close()
		return nil, nil, fmt.Errorf("list %s queue: %w", q, err)
	}
	return d, names, nil
}

// MoveCorrupt moves an unreadable entry to corrupt/, where it stays until
// a human deals with it.
func (s *Spool) MoveCorrupt(id ID, from string) error { return s.Move(id, from, Corrupt) }
