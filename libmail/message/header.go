package message

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrHeaderTooLong is returned (wrapped) by ScanHeader when the header
// section is longer than the caller's limit.
var ErrHeaderTooLong = errors.New("header too long")

// ScanHeader reads the header section of a message from r and calls fn for
// each field, in order, with the field name and the unfolded field body. It
// stops at the empty line that ends the header section (RFC 5322 §2.1),
// which it consumes, at EOF, or as soon as fn returns false; in all three
// cases it returns nil.
//
// Lines may end in CRLF or in a bare LF, so both the SMTP wire form and the
// Unix form of a message can be scanned. Unfolding follows RFC 5322 §2.2.3:
// a line break followed by WSP is removed and the WSP kept. The body handed
// to fn has leading and trailing SP and HTAB removed, so "To:  a@b " gives
// "a@b". Field names are case-insensitive (RFC 5322 defines them as ABNF
// literals, which RFC 5234 §2.3 makes case-insensitive), so compare them
// with bytes.EqualFold. Both slices are valid only during the call.
//
// A line that is not a field (no colon, an empty or invalid name, or a
// continuation line with no field before it) ends the header section, and
// ScanHeader returns nil after reporting the fields before it. Postfix's
// cleanup(8) likewise takes text that does not look like a header as the
// start of the body, so loop detection sees the fields that the rest of the
// MTA sees, and a bogus line cannot hide a Delivered-To: behind it from one
// component but not another.
//
// limit bounds the size of the header section, counting line endings and
// the empty line that ends it. Once more than limit bytes have been read,
// ScanHeader stops with an error wrapping ErrHeaderTooLong, without
// reporting the field in progress; it may by then have consumed up to one
// buffer of r beyond the limit. Memory use is bounded by limit plus r's
// buffer size. After an error or an early stop, r's position is somewhere
// after the last byte examined; callers that need the body must not rely on
// it.
func ScanHeader(r *bufio.Reader, limit int, fn func(name, value []byte) bool) error {
	if limit <= 0 {
		return fmt.Errorf("scan header: limit %d is not positive", limit)
	}
	s := headerScanner{r: r, limit: limit, buf: make([]byte, 0, 512)}
	return s.scan(fn)
}

// headerScanner keeps the field being unfolded at the front of buf, with
// the physical line being read appended after it, so that a continuation
// line joins the field without a copy and a new field costs one short move.
type headerScanner struct {
	r     *bufio.Reader
	limit int
	total int
	buf   []byte
	colon int // index of the colon in buf[:field] when field > 0
	field int // length of the field in progress; 0 when none
}

func (s *headerScanner) scan(fn func(name, value []byte) bool) error {
	for {
		start := len(s.buf)
		eof, err := s.readLine()
		if err != nil {
			return err
		}
		line := s.buf[start:]
		if len(line) == 0 && eof {
			s.emit(fn)
			return nil
		}
		if isBlankLine(line) {
			s.emit(fn)
			return nil
		}
		if line[0] == ' ' || line[0] == '\t' {
			if s.field == 0 {
				return nil
			}
			// RFC 5322 §2.2.3: unfold by removing the line break only.
			s.buf = trimEOL(s.buf)
			s.field = len(s.buf)
		} else {
			if !s.emit(fn) {
				return nil
			}
			s.buf = s.buf[:copy(s.buf, line)]
			s.buf = trimEOL(s.buf)
			colon, ok := fieldColon(s.buf)
			if !ok {
				return nil
			}
			s.colon = colon
			s.field = len(s.buf)
		}
		if eof {
			s.emit(fn)
			return nil
		}
	}
}

// readLine appends one physical line, with its line ending, to s.buf. It
// reports whether input ended, and fails once the limit is exceeded.
func (s *headerScanner) readLine() (eof bool, err error) {
	for {
		chunk, err := s.r.ReadSlice('\n')
		s.total += len(chunk)
		if s.total > s.limit {
			return false, fmt.Errorf("scan header: more than %d bytes: %w", s.limit, ErrHeaderTooLong)
		}
		s.buf = append(s.buf, chunk...)
		switch err {
		case nil:
			return false, nil
		case bufio.ErrBufferFull:
			// The line is longer than r's buffer; keep reading it.
		case io.EOF:
			return true, nil
		default:
			return false, fmt.Errorf("scan header: %w", err)
		}
	}
}

// emit reports the field in progress, if any, and returns fn's verdict.
func (s *headerScanner) emit(fn func(name, value []byte) bool) bool {
	if s.field == 0 {
		return true
	}
	f := s.buf[:s.field]
	s.field = 0
	return fn(trimWSP(f[:s.colon]), trimWSP(f[s.colon+1:]))
}

// fieldColon finds the colon that ends the field name and checks the name:
// RFC 5322 §3.6.8 allows printable US-ASCII other than the colon, and the
// obsolete syntax of RFC 5322 §4.5 allows WSP between the name and the
// colon, which is tolerated here because real mail still has it.
func fieldColon(line []byte) (int, bool) {
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return 0, false
	}
	name := trimWSP(line[:colon])
	if len(name) == 0 {
		return 0, false
	}
	for _, c := range name {
		if c < 33 || c > 126 {
			return 0, false
		}
	}
	return colon, true
}

func isBlankLine(line []byte) bool {
	return len(line) == 1 && line[0] == '\n' ||
		len(line) == 2 && line[0] == '\r' && line[1] == '\n'
}

// trimEOL removes a trailing LF or CRLF. A CR is part of a line ending only
// when an LF follows it, matching how LFWriter treats a lone CR.
func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}

// trimWSP removes leading and trailing SP and HTAB, the WSP of RFC 5234
// appendix B.1.
func trimWSP(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
