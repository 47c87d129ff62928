package maildrop

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"postern.dev/postern/libmail/queue"
)

// Dir is the name of the maildrop directory under queue_directory.
const Dir = queue.Maildrop

// FileMode is a submission's mode. Others may read it because pickup
// runs as mail_owner, not as the submitter; nobody else can find it
// (the directory is not listable, the name is random).
const FileMode = 0o644

// tmpPrefix starts the names of files being written; pickup leaves them
// alone until they are a day old.
const tmpPrefix = "tmp."

// File is a submission being written.
type File struct {
	f    *os.File
	w    *bufio.Writer
	dir  string
	tmp  string
	done bool
}

// Create starts a submission in dir (queue_directory/maildrop).
func Create(dir string) (*File, error) {
	tmp := tmpPrefix + randomName()
	f, err := os.OpenFile(filepath.Join(dir, tmp), os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, FileMode)
	if err != nil {
		return nil, fmt.Errorf("maildrop: %w", err)
	}
	// The umask must not take mail_owner's read permission away.
	if err := f.Chmod(FileMode); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("maildrop: %w", err)
	}
	return &File{f: f, w: bufio.NewWriterSize(f, 64<<10), dir: dir, tmp: tmp}, nil
}

// Write adds bytes to the file (the envelope, then the message).
func (m *File) Write(p []byte) (int, error) { return m.w.Write(p) }

// Commit makes the submission durable and visible to pickup: flush,
// fsync, rename to the final name, and fsync again. It returns the final
// name. The submitter may not read maildrop/, so it cannot fsync the
// directory; the second fsync of the file makes ext4 and xfs commit the
// journal transaction that holds the rename (on Linux a file's fsync
// flushes the metadata operations before it), and the directory itself
// is fsynced when it can be opened (root, mail_owner).
func (m *File) Commit() (string, error) {
	if m.done {
		return "", errors.New("maildrop: commit after commit or abort")
	}
	m.done = true
	fail := func(err error) (string, error) {
		m.f.Close()
		os.Remove(filepath.Join(m.dir, m.tmp))
		return "", fmt.Errorf("maildrop: %w", err)
	}
	if err := m.w.Flush(); err != nil {
		return fail(err)
	}
	if err := m.f.Sync(); err != nil {
		return fail(err)
	}
	name := randomName()
	if err := os.Rename(filepath.Join(m.dir, m.tmp), filepath.Join(m.dir, name)); err != nil {
		return fail(err)
	}
	if err := m.f.Sync(); err != nil {
		m.f.Close()
		os.Remove(filepath.Join(m.dir, name))
		return "", fmt.Errorf("maildrop: %w", err)
	}
	if err := m.f.Close(); err != nil {
		os.Remove(filepath.Join(m.dir, name))
		return "", fmt.Errorf("maildrop: %w", err)
	}
	if d, err := os.Open(m.dir); err == nil {
		d.Sync()
		d.Close()
	}
	return name, nil
}

// Abort removes a submission that will not be committed.
func (m *File) Abort() {
	if !m.done {
		m.done = true
		m.f.Close()
		os.Remove(filepath.Join(m.dir, m.tmp))
	}
}

// randomName is 128 random bits in hex: unguessable, and a file name.
func randomName() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// IsName reports whether name is a committed submission's name.
func IsName(name string) bool {
	if len(name) != 32 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
