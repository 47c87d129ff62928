package imapd

import (
	"bytes"
	"io"
	"os"

	"postern.dev/postern/imapd/imap"
)

// spoolMin is the smallest APPEND that is spooled to a file rather than
// kept in memory: below it a file costs more than it saves.
const spoolMin = 64 << 10

// spool holds an APPEND's message between the literal and the store
// (imap.Reader.SetAppendSink): a large one in an unlinked file in
// Config.SpoolDir, so that a session holds a 50 MB message in no more
// memory than a small one, and nothing is left behind by a crash.
type spool interface {
	imap.AppendSink
	reader() io.Reader
}

// errSpool refuses an APPEND whose spool could not be made; the Reader
// sends its text as the NO's (Dovecot's words for a server fault), so it
// is a sentence for the client, not an error string for a log.
var errSpool error = clientText("Internal error occurred. Refer to server log for more information.")

type clientText string

func (t clientText) Error() string { return string(t) }

// newSpool opens the spool for a message of size octets.
func newSpool(dir string, size int64) (spool, error) {
	if size < spoolMin || dir == "" {
		return &memSpool{}, nil
	}
	f, err := os.CreateTemp(dir, ".append-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	return &fileSpool{f: f}, nil
}

type memSpool struct{ bytes.Buffer }

func (m *memSpool) Discard() error    { m.Reset(); return nil }
func (m *memSpool) reader() io.Reader { return bytes.NewReader(m.Bytes()) }

type fileSpool struct {
	f *os.File
	n int64
}

func (s *fileSpool) Write(p []byte) (int, error) {
	n, err := s.f.Write(p)
	s.n += int64(n)
	return n, err
}

// Discard closes the file, whose name is already gone; twice is
// harmless.
func (s *fileSpool) Discard() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

func (s *fileSpool) reader() io.Reader { return io.NewSectionReader(s.f, 0, s.n) }
