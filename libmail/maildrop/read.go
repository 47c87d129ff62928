package maildrop

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// ErrUnsafe marks a directory entry that is no submission: a symbolic
// link, a FIFO, a directory, a file with more than one link.
var ErrUnsafe = errors.New("not a regular file with one link")

// Submission is an open maildrop file.
type Submission struct {
	Name     string
	UID      int   // the file's owner: the submitter
	Size     int64 // the file's size when opened
	Envelope *Envelope
	// Message reads the message, at most the limit given to Open plus
	// one byte, so a reader can tell a message that is too big.
	Message io.Reader

	f *os.File
}

// Open opens submission name in dir and reads its envelope. The file is
// hostile until proven otherwise (see the package doc). An error wraps
// ErrUnsafe or ErrFormat when the file is bad, fs.ErrNotExist when it
// vanished, and is temporary otherwise.
func Open(dir, name string, limit int64) (*Submission, error) {
	if !IsName(name) {
		return nil, fmt.Errorf("maildrop %q: %w: not a submission name", clip(name), ErrFormat)
	}
	path := filepath.Join(dir, name)
	// O_NONBLOCK: a FIFO must not hang pickup; O_NOFOLLOW: a link must
	// not make pickup read what the submitter could not.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("maildrop %s: %w (symbolic link)", name, ErrUnsafe)
		}
		return nil, fmt.Errorf("maildrop: %w", err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("maildrop %s: %w", name, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Nlink != 1 {
		f.Close()
		return nil, fmt.Errorf("maildrop %s: %w (mode %o, %d links)", name, ErrUnsafe, st.Mode, st.Nlink)
	}
	br := bufio.NewReaderSize(f, 64<<10)
	env, err := ReadEnvelope(br)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("maildrop %s: %w", name, err)
	}
	return &Submission{Name: name, UID: int(st.Uid), Size: st.Size, Envelope: env,
		Message: io.LimitReader(br, limit+1), f: f}, nil
}

// Close closes the file.
func (s *Submission) Close() error { return s.f.Close() }

// Entries sorts the names in dir: committed submissions, in no
// particular order; files being written for longer than staleAfter (a
// writer that died); and anything else, which no sendmail made.
func Entries(dir string, now time.Time, staleAfter time.Duration) (subs, stale, other []string, err error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("maildrop: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("maildrop: %w", err)
	}
	for _, n := range names {
		switch {
		case IsName(n):
			subs = append(subs, n)
		case strings.HasPrefix(n, tmpPrefix) && IsName(n[len(tmpPrefix):]):
			if st, err := os.Lstat(filepath.Join(dir, n)); err == nil && now.Sub(st.ModTime()) > staleAfter {
				stale = append(stale, n)
			}
		default:
			other = append(other, n)
		}
	}
	return subs, stale, other, nil
}
