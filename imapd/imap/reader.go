package imap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Limits bound what one command can make the server hold in memory. The
// defaults suit parameters: the lead maps them to imapd_* settings.
type Limits struct {
	// Line is the longest line of a command, literals not counted.
	// RFC 7162 §4 asks servers to take lines of at least 8192 octets,
	// because CONDSTORE clients send long sequence sets.
	Line int
	// Command bounds a whole command: its lines and literals, but not an
	// APPEND's message.
	Command int64
	// Literal bounds one literal other than an APPEND's message.
	Literal int64
	// Append bounds an APPEND's message (what APPENDLIMIT announces).
	Append int64
	// Depth bounds nesting: parenthesised lists and SEARCH keys.
	Depth int
}

// DefaultLimits are Dovecot's orders of magnitude: 64 KiB lines, 1 MiB
// commands, 50 MiB messages (Postfix's message_size_limit is 10 MB, so
// APPEND takes anything smtpd would).
func DefaultLimits() Limits {
	return Limits{Line: 65536, Command: 1 << 20, Literal: 1 << 20, Append: 50 << 20, Depth: 32}
}

// Error is a command the server refuses while reading or parsing it; the
// session writes it as a tagged response (untagged when Tag is empty)
// and, when Fatal, says BYE and closes, because the stream can no longer
// be followed.
type Error struct {
	Tag    string
	Status string // BAD or NO
	Code   string // response code without brackets, e.g. "TOOBIG"
	Text   string
	Fatal  bool
}

func (e *Error) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s [%s] %s", e.Status, e.Code, e.Text)
	}
	return e.Status + " " + e.Text
}

// Reader gathers commands from a client: lines and the literals between
// them, asking for synchronizing literals with a continuation request.
type Reader struct {
	br  *bufio.Reader
	lim Limits
	// cont sends "+ ..." and flushes; the Reader calls it before reading a
	// synchronizing literal (RFC 3501 §7.5).
	cont    func() error
	newSink func(size int64) (AppendSink, error)
}

// AppendSink takes an APPEND's message as it arrives: the store's file
// in tmp/, so that a large message is never held in memory.
type AppendSink interface {
	io.Writer
	// Discard drops what was written: the command did not parse, or the
	// connection broke in the middle of the message.
	Discard() error
}

// SetAppendSink makes the Reader write APPEND messages to the sinks
// newSink opens (size is the literal's) instead of memory: Append.Sink
// and Append.Size are set then, and Append.Message is nil. An error from
// newSink refuses the command with NO (the synchronizing literal is not
// asked for; a non-synchronizing one is read and dropped).
func (r *Reader) SetAppendSink(newSink func(size int64) (AppendSink, error)) { r.newSink = newSink }

// NewReader reads commands from r; cont is called before each
// synchronizing literal.
func NewReader(r io.Reader, lim Limits, cont func() error) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 16<<10), lim: lim, cont: cont}
}

// Reset makes the Reader read from r: after STARTTLS and COMPRESS. The
// caller checks Buffered first, since bytes a client pipelined behind
// STARTTLS must be dropped, not read as if they had been encrypted.
func (r *Reader) Reset(rd io.Reader) { r.br.Reset(rd) }

// Buffered is how many bytes the client sent that were not read yet.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// errLineTooLong is a line over Limits.Line; the rest of it is skipped.
var errLineTooLong = errors.New("line too long")

// ReadLine reads one line without its line end: an AUTHENTICATE
// response, or DONE after IDLE.
func (r *Reader) ReadLine() (string, error) {
	line, err := r.readLine()
	if err != nil {
		return "", err
	}
	return string(line[:len(line)-2]), nil
}

// readLine returns one line ending in CRLF (a bare LF is taken as CRLF,
// as most servers do). A line over the limit is read to its end and
// dropped.
func (r *Reader) readLine() ([]byte, error) {
	var line []byte
	for {
		frag, err := r.br.ReadSlice('\n')
		if len(line)+len(frag) > r.lim.Line {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.br.ReadSlice('\n')
			}
			if err != nil {
				return nil, err
			}
			return nil, errLineTooLong
		}
		line = append(line, frag...)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			if err == io.EOF && len(line) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	line = bytes.TrimSuffix(line[:len(line)-1], []byte{'\r'})
	return append(line, '\r', '\n'), nil
}

// ReadCommand reads and parses one command. A *Error is a refusal to
// send the client; other errors are the connection's.
func (r *Reader) ReadCommand() (*Command, error) {
	buf, sink, size, err := r.readCommandBytes()
	if err != nil {
		if sink != nil {
			sink.Discard()
		}
		return nil, err
	}
	cmd, err := parseCommand(buf, r.lim)
	if sink != nil {
		a, ok := cmdAppend(cmd)
		if !ok {
			sink.Discard()
			return cmd, err
		}
		a.Message, a.Sink, a.Size = nil, sink, size
	}
	return cmd, err
}

func cmdAppend(cmd *Command) (*Append, bool) {
	if cmd == nil {
		return nil, false
	}
	a, ok := cmd.Args.(*Append)
	return a, ok
}

// readCommandBytes returns the command as it came over the wire, with
// literals inline after their "{n}" CRLF, so that the parser sees one
// buffer.
func (r *Reader) readCommandBytes() (buf []byte, sink AppendSink, size int64, err error) {
	var total int64
	for {
		line, err := r.readLine()
		if errors.Is(err, errLineTooLong) {
			return nil, sink, 0, &Error{Tag: tagOf(buf), Status: "BAD", Text: "command line too long"}
		} else if err != nil {
			return nil, sink, 0, err
		}
		if len(buf) == 0 && len(bytes.TrimSpace(line)) == 0 {
			continue // RFC 3501 has no empty command; clients send stray CRLFs
		}
		buf = append(buf, line...)
		total += int64(len(line))
		n, sync, ok := literalAtEnd(line)
		if !ok {
			return buf, sink, size, nil
		}
		limit, appendMsg := r.lim.Literal, isMessageLiteral(buf, r.lim)
		if appendMsg {
			limit = r.lim.Append
		}
		if n > limit || (!appendMsg && total+n > r.lim.Command) {
			e := &Error{Tag: tagOf(buf), Status: "BAD", Code: "TOOBIG", Text: "literal too large"}
			if appendMsg {
				e.Status = "NO" // RFC 7889 §4
			}
			// After a non-synchronizing literal the client sends it at
			// once; RFC 7888 §4 lets the server close rather than skip it.
			e.Fatal = !sync
			return nil, sink, 0, e
		}
		if appendMsg && r.newSink != nil && sink == nil {
			s, err := r.newSink(n)
			if err != nil {
				e := &Error{Tag: tagOf(buf), Status: "NO", Text: err.Error()}
				if !sync {
					_, err = io.CopyN(io.Discard, r.br, n)
					e.Fatal = err != nil
				}
				return nil, nil, 0, e
			}
			if err := r.continueLiteral(sync); err != nil {
				return nil, s, 0, err
			}
			sink, size = s, n
			if _, err := io.CopyN(s, r.br, n); err != nil {
				return nil, sink, 0, fmt.Errorf("reading a %d-octet message: %w", n, err)
			}
			// The parser sees an empty literal in the message's place.
			open := bytes.LastIndexByte(buf, '{')
			buf = append(buf[:open], "{0}\r\n"...)
			continue
		}
		if err := r.continueLiteral(sync); err != nil {
			return nil, sink, 0, err
		}
		start := len(buf)
		buf = append(buf, make([]byte, n)...)
		if _, err := io.ReadFull(r.br, buf[start:]); err != nil {
			return nil, sink, 0, fmt.Errorf("reading a %d-octet literal: %w", n, err)
		}
		if !appendMsg {
			total += n
		}
	}
}

func (r *Reader) continueLiteral(sync bool) error {
	if sync && r.cont != nil {
		if err := r.cont(); err != nil {
			return fmt.Errorf("continuation request: %w", err)
		}
	}
	return nil
}

// literalAtEnd recognises "{n}", "{n+}" (RFC 7888) and "~{n}" (RFC 3516)
// at the end of a line.
func literalAtEnd(line []byte) (n int64, sync, ok bool) {
	l := line[:len(line)-2]
	if len(l) < 3 || l[len(l)-1] != '}' {
		return 0, false, false
	}
	open := bytes.LastIndexByte(l, '{')
	if open < 0 {
		return 0, false, false
	}
	digits := l[open+1 : len(l)-1]
	sync = true
	if len(digits) > 0 && digits[len(digits)-1] == '+' {
		digits, sync = digits[:len(digits)-1], false
	}
	if len(digits) == 0 || len(digits) > 12 {
		return 0, false, false
	}
	v, err := strconv.ParseInt(string(digits), 10, 64)
	if err != nil || digits[0] == '+' || digits[0] == '-' {
		return 0, false, false
	}
	return v, sync, true
}

// tagOf is the tag of a command read so far, for error responses.
func tagOf(buf []byte) string {
	i := 0
	for i < len(buf) && isTagChar(buf[i]) {
		i++
	}
	if i == 0 || i >= len(buf) || buf[i] != ' ' {
		return ""
	}
	return string(buf[:i])
}

// isMessageLiteral tells whether the literal announced at the end of
// buf is an APPEND's message, bounded by Limits.Append and taken by the
// AppendSink, rather than, say, a mailbox name sent as a literal: the
// command so far must parse as "tag APPEND mailbox [flags] [date-time]
// [UTF8 (]" up to the literal.
func isMessageLiteral(buf []byte, lim Limits) bool {
	p := &parser{buf: buf, lim: lim}
	if p.run(isTagChar) == "" || p.sp() != nil {
		return false
	}
	if kw, err := p.keyword(); err != nil || kw != "APPEND" || p.sp() != nil {
		return false
	}
	if _, err := p.mailbox(); err != nil || p.sp() != nil {
		return false
	}
	if p.peek() == '(' {
		if _, err := p.flagList(); err != nil || p.sp() != nil {
			return false
		}
	}
	if p.peek() == '"' {
		if _, err := p.dateTime(); err != nil || p.sp() != nil {
			return false
		}
	}
	if p.matchKeyword("UTF8") && !p.maybe('(') {
		return false
	}
	p.maybe('~')
	return p.peek() == '{' && bytes.IndexByte(buf[p.pos:], '\n') == len(buf)-p.pos-1
}
