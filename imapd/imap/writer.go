package imap

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Writer writes responses. Its methods append to the current line and
// return the Writer, so a response reads as its wire form:
//
//	w.Untagged().Number(3).SP().Atom("EXISTS").End()
//
// The first error sticks and is returned by End and Flush.
type Writer struct {
	bw  *bufio.Writer
	err error
	// UTF8 is set once the client enabled IMAP4rev2 or UTF8=ACCEPT:
	// mailbox names go as UTF-8, and strings with 8-bit may be quoted.
	UTF8 bool
}

// NewWriter writes to w, buffered: nothing is sent before Flush.
func NewWriter(w io.Writer) *Writer { return &Writer{bw: bufio.NewWriterSize(w, 16<<10)} }

// Reset makes the Writer write to w (after STARTTLS, COMPRESS).
func (w *Writer) Reset(out io.Writer) { w.bw.Reset(out); w.err = nil }

// Flush sends what was written.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	return w.bw.Flush()
}

// Err is the first error.
func (w *Writer) Err() error { return w.err }

func (w *Writer) raw(s string) *Writer {
	if w.err == nil {
		_, w.err = w.bw.WriteString(s)
	}
	return w
}

// Untagged starts "* ".
func (w *Writer) Untagged() *Writer { return w.raw("* ") }

// Tagged starts "tag ".
func (w *Writer) Tagged(tag string) *Writer { return w.raw(tag + " ") }

// End ends the line.
func (w *Writer) End() error {
	w.raw("\r\n")
	return w.err
}

// Status writes a whole status response: "tag OK [code] text", untagged
// when tag is "". status is OK, NO, BAD, BYE or PREAUTH.
func (w *Writer) Status(tag, status, code, text string) error {
	if tag == "" {
		tag = "*"
	}
	w.raw(tag + " " + status + " ")
	if code != "" {
		w.raw("[" + code + "] ")
	}
	return w.raw(sanitizeText(text)).End()
}

// Continue writes a continuation request "+ text".
func (w *Writer) Continue(text string) error {
	return w.raw("+ " + sanitizeText(text)).End()
}

// sanitizeText keeps a human-readable text on its line.
func sanitizeText(s string) string {
	if s == "" {
		return "done" // RFC 9051's resp-text needs at least one character
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return ' '
		}
		return r
	}, s)
}

// Atom writes s unquoted; it is for atoms the server chose (names,
// keywords, flags).
func (w *Writer) Atom(s string) *Writer { return w.raw(s) }

// Bytes writes b as it is: a value rendered before.
func (w *Writer) Bytes(b []byte) *Writer {
	if w.err == nil {
		_, w.err = w.bw.Write(b)
	}
	return w
}

// SP writes a space.
func (w *Writer) SP() *Writer { return w.raw(" ") }

// Open and Close write "(" and ")".
func (w *Writer) Open() *Writer  { return w.raw("(") }
func (w *Writer) Close() *Writer { return w.raw(")") }

// Number writes a decimal number.
func (w *Writer) Number(n uint64) *Writer { return w.raw(strconv.FormatUint(n, 10)) }

// String writes s quoted, or as a literal when it cannot be quoted.
func (w *Writer) String(s string) *Writer {
	if canQuote(s, w.UTF8) {
		return w.raw(quote(s))
	}
	return w.raw("{" + strconv.Itoa(len(s)) + "}\r\n" + s)
}

// NString writes NIL for nil.
func (w *Writer) NString(s *string) *Writer {
	if s == nil {
		return w.raw("NIL")
	}
	return w.String(*s)
}

// Mailbox writes a mailbox name (UTF-8) in the client's encoding.
func (w *Writer) Mailbox(name string) *Writer { return w.String(EncodeMailbox(name, w.UTF8)) }

// Literal writes a literal of n octets read from r: message data for
// FETCH, streamed. A reader shorter than n is an error, since the
// literal cannot be taken back; binary uses RFC 3516's "~{n}".
func (w *Writer) Literal(r io.Reader, n int64, binary bool) *Writer {
	if binary {
		w.raw("~")
	}
	w.raw("{" + strconv.FormatInt(n, 10) + "}\r\n")
	if w.err == nil {
		var got int64
		got, w.err = io.CopyN(w.bw, r, n)
		if w.err != nil {
			w.err = fmt.Errorf("literal of %d octets ended at %d: %w", n, got, w.err)
		}
	}
	return w
}

// Flags writes a parenthesised flag list.
func (w *Writer) Flags(flags []string) *Writer {
	return w.raw("(" + strings.Join(flags, " ") + ")")
}

// Set writes a sequence set.
func (w *Writer) Set(s SeqSet) *Writer { return w.raw(s.String()) }

// DateTime writes a quoted date-time as INTERNALDATE is shown.
func (w *Writer) DateTime(t time.Time) *Writer {
	return w.raw(`"` + t.Format("02-Jan-2006 15:04:05 -0700") + `"`)
}

// canQuote tells whether s fits in a quoted string: no CR, LF or NUL,
// 8-bit only in UTF-8 mode, and short enough to stay readable.
func canQuote(s string, utf8Mode bool) bool {
	if len(s) > 1024 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' || c == 0 || (c >= 0x80 && !utf8Mode) {
			return false
		}
	}
	return true
}

func quote(s string) string {
	if !strings.ContainsAny(s, `"\`) {
		return `"` + s + `"`
	}
	var sb strings.Builder
	sb.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			sb.WriteByte('\\')
		}
		sb.WriteByte(s[i])
	}
	sb.WriteByte('"')
	return sb.String()
}

// quoteAString is s as an astring in commands and section specs: an
// atom when it is one, else quoted, else a non-synchronizing literal.
func quoteAString(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool { return r > 0x7e || !isAtomChar(byte(r)) && r != ']' }) < 0 {
		return s
	}
	if canQuote(s, true) {
		return quote(s)
	}
	return "{" + strconv.Itoa(len(s)) + "+}\r\n" + s
}
