package queue

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrCorrupt marks an entry that cannot be parsed. Such entries go to
// corrupt/ for a human to look at; they are never deleted automatically.
var ErrCorrupt = errors.New("corrupt queue entry")

// Entry is a queue entry as read back: the envelope, where the message
// lies in the file, and the progress recorded so far.
type Entry struct {
	ID ID
	Envelope
	// Size is the length of the message as every reader sees it through
	// Message: the prepended header fields and the stored message.
	Size   int64
	Offset int64       // where the stored message starts in the file
	State  []RcptState // one per recipient, in envelope order

	Attempts    int       // delivery attempts made so far
	NextAttempt time.Time // when the next attempt is due (zero: now)
	Warned      bool      // a delay warning was sent
	Expired     bool      // the administrator asked for it to be returned (ExpireRecord)
	Interrupted bool      // an attempt may have ended unrecorded (InterruptedRecord)
	// Quarantine is why the message was accepted into quarantine (see
	// QuarantineRecord); "" for the inbox.
	Quarantine string

	// prepend is the header decided after the message was stored (see
	// Writer.Prepend), read with the envelope; Message puts it on top.
	prepend []byte
}

// maxEnvelope bounds the envelope text, so that a hostile or broken file
// cannot make a reader allocate without limit. 1000 recipients of 256
// bytes with DSN options fit easily.
const maxEnvelope = 4 << 20

// Read parses the entry open in f. The message itself is not read; use
// Message for that.
func Read(f *os.File, id ID) (*Entry, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read queue entry %s: %w", id, err)
	}
	e, err := parse(io.NewSectionReader(f, 0, st.Size()), st.Size())
	if err != nil {
		return nil, fmt.Errorf("queue entry %s: %w", id, err)
	}
	e.ID = id
	return e, nil
}

// parse reads an entry of total length n from r.
func parse(r io.ReaderAt, n int64) (*Entry, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, n), 8192)
	head := make([]byte, headerHead)
	if _, err := io.ReadFull(br, head[:headerHead1]); err != nil {
		return nil, fmt.Errorf("%w: short header", ErrCorrupt)
	}
	version := string(head[:len(magic)])
	if version != magic && version != magic1 || string(head[len(magic):sizeOffset]) != "size " || head[headerHead1-1] != '\n' {
		return nil, fmt.Errorf("%w: not a version 1 or 2 entry", ErrCorrupt)
	}
	size, err := parseDigits(head[sizeOffset : sizeOffset+sizeDigits])
	if err != nil {
		return nil, fmt.Errorf("%w: bad size", ErrCorrupt)
	}
	off := int64(headerHead1)
	var plen int64
	if version == magic {
		if _, err := io.ReadFull(br, head[headerHead1:]); err != nil {
			return nil, fmt.Errorf("%w: short header", ErrCorrupt)
		}
		if string(head[headerHead1:prependOffset]) != "prepend " || head[headerHead-1] != '\n' {
			return nil, fmt.Errorf("%w: no prepend line", ErrCorrupt)
		}
		if plen, err = parseDigits(head[prependOffset : prependOffset+sizeDigits]); err != nil || plen > MaxPrepend {
			return nil, fmt.Errorf("%w: bad prepend length", ErrCorrupt)
		}
		off = int64(headerHead)
	}
	e := &Entry{}
	for {
		line, err := br.ReadString('\n')
		off += int64(len(line))
		if err != nil {
			return nil, fmt.Errorf("%w: envelope not terminated", ErrCorrupt)
		}
		if off > maxEnvelope {
			return nil, fmt.Errorf("%w: envelope too large", ErrCorrupt)
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			break
		}
		if err := parseEnvelopeLine(&e.Envelope, line); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
	}
	if e.Arrival.IsZero() || len(e.Recipients) == 0 {
		return nil, fmt.Errorf("%w: envelope lacks arrival or recipients", ErrCorrupt)
	}
	e.Offset = off
	if size > n-off || plen > n-off-size {
		return nil, fmt.Errorf("%w: message truncated (%d of %d+%d bytes)", ErrCorrupt, n-off, size, plen)
	}
	if plen > 0 {
		e.prepend = make([]byte, plen)
		if _, err := r.ReadAt(e.prepend, off+size); err != nil && err != io.EOF {
			return nil, fmt.Errorf("read prepended header: %w", err)
		}
	}
	e.Size = size + plen
	e.State = make([]RcptState, len(e.Recipients))
	trailer := make([]byte, n-off-size-plen)
	if _, err := r.ReadAt(trailer, off+size+plen); err != nil && err != io.EOF {
		return nil, fmt.Errorf("read trailer: %w", err)
	}
	lines := strings.Split(string(trailer), "\n")
	// The last element is what follows the last newline: empty, or a
	// record torn by a crash, which is ignored.
	for _, l := range lines[:len(lines)-1] {
		if l != "" {
			e.applyRecord(l)
		}
	}
	return e, nil
}

// Message returns a reader for the message of the entry open in f, as
// every reader of an entry must see it: the prepended header fields (see
// Writer.Prepend), then the message as it was stored. Its Size is e.Size.
// It reads the file where it lies, so the message is never copied; only
// the prepended header, read with the envelope, comes from memory.
func (e *Entry) Message(f io.ReaderAt) *io.SectionReader {
	if len(e.prepend) == 0 {
		return io.NewSectionReader(f, e.Offset, e.Size)
	}
	return io.NewSectionReader(&withPrepend{head: e.prepend, f: f, off: e.Offset}, 0, e.Size)
}

// withPrepend is a message whose first bytes are head and whose rest lies
// in f from off on.
type withPrepend struct {
	head []byte
	f    io.ReaderAt
	off  int64
}

func (m *withPrepend) ReadAt(p []byte, at int64) (int, error) {
	if at < 0 {
		return 0, errors.New("negative offset")
	}
	n := 0
	if at < int64(len(m.head)) {
		n = copy(p, m.head[at:])
		if n == len(p) {
			return n, nil
		}
		at = int64(len(m.head))
	}
	k, err := m.f.ReadAt(p[n:], m.off+at-int64(len(m.head)))
	return n + k, err
}

// parseDigits reads a fixed-width decimal field of the header.
func parseDigits(b []byte) (int64, error) {
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err == nil && n < 0 {
		err = fmt.Errorf("negative %d", n)
	}
	return n, err
}

// Pending returns the indexes of recipients with no final result yet.
func (e *Entry) Pending() []int {
	var out []int
	for i, s := range e.State {
		if s.Status != Sent && s.Status != Failed {
			out = append(out, i)
		}
	}
	return out
}

// Done reports whether nothing is left to do for any recipient.
func (e *Entry) Done() bool {
	for _, s := range e.State {
		if !s.Done() {
			return false
		}
	}
	return true
}
