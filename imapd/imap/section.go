package imap

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// ErrNoSuchPart is a section naming a part the message does not have;
// the session answers it with NIL (RFC 9051 §6.4.5 lets the server).
var ErrNoSuchPart = errors.New("no such body part")

// ErrUnknownCTE is BINARY of a part whose Content-Transfer-Encoding the
// server cannot decode: NO [UNKNOWN-CTE] (RFC 3516 §4.3).
var ErrUnknownCTE = errors.New("unknown content transfer encoding")

// Section returns BODY[section] before any partial: a reader and its
// length. A section of the top-level header or text reads the header
// only; a numbered part scans the structure.
func (m *Message) Section(s *Section) (io.Reader, int64, error) {
	if len(s.Part) == 0 {
		if s.Specifier == "" {
			return io.NewSectionReader(m.r, 0, m.size), m.size, nil
		}
		p, err := m.Header()
		if err != nil {
			return nil, 0, err
		}
		return m.messageSection(p, s)
	}
	root, err := m.Structure()
	if err != nil {
		return nil, 0, err
	}
	p, err := resolvePart(root, s.Part)
	if err != nil {
		return nil, 0, err
	}
	switch s.Specifier {
	case "":
		return m.span(p.BodyStart, p.End)
	case "MIME":
		return m.span(p.Start, p.BodyStart)
	}
	if p.Embedded == nil {
		// HEADER and TEXT name an encapsulated message; other parts have
		// none, and an empty string says so without failing the FETCH.
		return bytes.NewReader(nil), 0, nil
	}
	return m.messageSection(p.Embedded, s)
}

// messageSection is HEADER, HEADER.FIELDS[.NOT] or TEXT of a message.
func (m *Message) messageSection(p *Part, s *Section) (io.Reader, int64, error) {
	switch s.Specifier {
	case "HEADER":
		return m.span(p.Start, p.BodyStart)
	case "TEXT":
		return m.span(p.BodyStart, p.End)
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		b := FilterHeader(&p.Header, s.Fields, s.Specifier == "HEADER.FIELDS.NOT")
		return bytes.NewReader(b), int64(len(b)), nil
	}
	return nil, 0, ErrNoSuchPart
}

func (m *Message) span(start, end int64) (io.Reader, int64, error) {
	return io.NewSectionReader(m.r, start, end-start), end - start, nil
}

// FilterHeader returns the fields named in names (not named, when not),
// as sent, and the empty line that ends a header (RFC 9051 §6.4.5).
func FilterHeader(h *Header, names []string, not bool) []byte {
	var out []byte
	for _, f := range h.Fields {
		match := false
		for _, n := range names {
			if strings.EqualFold(f.Name, n) {
				match = true
				break
			}
		}
		if match != not {
			out = append(out, f.Raw...)
			if !bytes.HasSuffix(f.Raw, []byte("\n")) {
				out = append(out, '\r', '\n')
			}
		}
	}
	return append(out, '\r', '\n')
}

// resolvePart follows a part number (RFC 9051 §6.4.5): in a message or
// message/rfc822 part, numbers count the parts of its multipart body;
// a body that is not multipart is part 1.
func resolvePart(root *Part, path []int) (*Part, error) {
	container := root
	var cur *Part
	for _, n := range path {
		switch {
		case len(container.Children) > 0:
			if n < 1 || n > len(container.Children) {
				return nil, ErrNoSuchPart
			}
			cur = container.Children[n-1]
		case n == 1:
			cur = container
		default:
			return nil, ErrNoSuchPart
		}
		container = cur
		if cur.Embedded != nil {
			container = cur.Embedded
		}
	}
	return cur, nil
}

// Binary returns BINARY[part]: the part's body with its
// Content-Transfer-Encoding undone (RFC 3516), and the decoded length,
// which costs one decoding pass before the one the reader makes.
func (m *Message) Binary(part []int) (io.Reader, int64, error) {
	if len(part) == 0 {
		return io.NewSectionReader(m.r, 0, m.size), m.size, nil
	}
	root, err := m.Structure()
	if err != nil {
		return nil, 0, err
	}
	p, err := resolvePart(root, part)
	if err != nil {
		return nil, 0, err
	}
	if len(p.Children) > 0 {
		return nil, 0, ErrNoSuchPart // a multipart has no content of its own
	}
	n, err := io.Copy(io.Discard, m.decoder(p))
	if err != nil {
		return nil, 0, err
	}
	return m.decoder(p), n, nil
}

// BinarySize is BINARY.SIZE[part].
func (m *Message) BinarySize(part []int) (int64, error) {
	_, n, err := m.Binary(part)
	return n, err
}

// decoder undoes the part's transfer encoding only; a header with just
// that field keeps go-message from converting the charset as well.
func (m *Message) decoder(p *Part) io.Reader {
	var h textproto.Header
	if enc := p.Header.Get("Content-Transfer-Encoding"); enc != "" {
		h.Set("Content-Transfer-Encoding", strings.TrimSpace(enc))
	}
	body := io.NewSectionReader(m.r, p.BodyStart, p.End-p.BodyStart)
	e, err := message.New(message.Header{Header: h}, body)
	if message.IsUnknownEncoding(err) {
		return errReader{ErrUnknownCTE}
	}
	return e.Body
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// Apply cuts a section to <offset.count> (RFC 9051 §6.4.5): past the end
// is empty, a count past the end is cut there.
func (pt *Partial) Apply(r io.Reader, size int64) (io.Reader, int64, error) {
	if pt == nil {
		return r, size, nil
	}
	off := min(int64(pt.Offset), size)
	if s, ok := r.(io.Seeker); ok {
		if _, err := s.Seek(off, io.SeekCurrent); err != nil {
			return nil, 0, err
		}
	} else if _, err := io.CopyN(io.Discard, r, off); err != nil {
		return nil, 0, err
	}
	n := min(size-off, int64(min(pt.Count, 1<<62)))
	return io.LimitReader(r, n), n, nil
}
