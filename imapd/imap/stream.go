package imap

import "io"

// NewMessageStream makes a Message of a stream, for a store that hands
// out messages as readers (libmail/mailbox's Open converts Maildir's
// line ends on the fly, so it has no ReaderAt). The stream is read only
// as far as asked and what was read is kept, so a header FETCH reads
// about the header, and BODYSTRUCTURE reads the message once. r may also
// hold the header alone (OpenHeader, CachedHeader) when only header
// items are asked; reading past it then fails. The caller closes r after
// it is done with the Message; neither is for concurrent use.
func NewMessageStream(r io.Reader, size int64) *Message {
	return NewMessage(&streamReaderAt{r: r, size: size}, size)
}

// streamReaderAt serves ReadAt from what it read of r so far.
type streamReaderAt struct {
	r    io.Reader
	size int64 // the expected size: the buffer never grows past it unasked
	buf  []byte
	err  error // the end of r, or its failure
}

func (s *streamReaderAt) ReadAt(p []byte, off int64) (int, error) {
	need := off + int64(len(p))
	for int64(len(s.buf)) < need && s.err == nil {
		if len(s.buf) == cap(s.buf) {
			c := max(2*cap(s.buf), 32<<10)
			if s.size > int64(len(s.buf)) {
				c = int(min(int64(c), max(s.size, need)))
			}
			nb := make([]byte, len(s.buf), c)
			copy(nb, s.buf)
			s.buf = nb
		}
		n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+n]
		if err != nil {
			s.err = err
		}
	}
	if off >= int64(len(s.buf)) {
		return 0, s.err
	}
	n := copy(p, s.buf[off:])
	if n < len(p) {
		return n, s.err
	}
	return n, nil
}
