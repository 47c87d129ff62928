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
	Size   int64       // message length in bytes
	Offset int64       // where the message starts in the file
	State  []RcptState // one per recipient, in envelope order

	Attempts    int       // delivery attempts made so far
	NextAttempt time.Time // when the next attempt is due (zero: now)
	Warned      bool      // a delay warning was sent
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
	if _, err := io.ReadFull(br, head); err != nil {
		return nil, fmt.Errorf("%w: short header", ErrCorrupt)
	}
	if string(head[:len(magic)]) != magic || string(head[len(magic):sizeOffset]) != "size " || head[headerHead-1] != '\n' {
		return nil, fmt.Errorf("%w: not a version 1 entry", ErrCorrupt)
	}
	size, err := strconv.ParseInt(string(head[sizeOffset:sizeOffset+sizeDigits]), 10, 64)
	if err != nil || size < 0 {
		return nil, fmt.Errorf("%w: bad size", ErrCorrupt)
	}
	e := &Entry{Size: size}
	off := int64(headerHead)
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
	if off+size > n {
		return nil, fmt.Errorf("%w: message truncated (%d of %d bytes)", ErrCorrupt, n-off, size)
	}
	e.State = make([]RcptState, len(e.Recipients))
	trailer := make([]byte, n-off-size)
	if _, err := r.ReadAt(trailer, off+size); err != nil && err != io.EOF {
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

// Message returns a reader for the message bytes of the entry open in f.
func (e *Entry) Message(f io.ReaderAt) *io.SectionReader {
	return io.NewSectionReader(f, e.Offset, e.Size)
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
