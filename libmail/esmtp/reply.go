package esmtp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"postern.dev/postern/libmail/maillog"
)

// Reply is one SMTP reply (RFC 5321 §4.2): a code, the RFC 3463 enhanced
// status code its lines carry (RFC 2034), and its text. smtpd writes its
// replies as this type and the client reads the servers' into it, so
// both sides agree on the wire form (Append) and on the form a log line
// or a DSN quotes (String).
//
// A reply smtpd builds sets the three fields; Text may hold several
// lines, joined by "\n". A reply the client reads keeps the server's
// words: Enhanced is the code when every line begins with it (as RFC
// 2034 servers write it) and is then taken off each line's text; when
// some line lacks it, Enhanced is empty and every line's text is kept
// as received, so that String gives the server's words exactly, and DSN
// still finds the code of the first line. The client keeps only the
// first lines of a long reply (maxReplyKeep); an empty last line then
// stands for those it dropped, and String marks the rendering as cut.
type Reply struct {
	Code     int    // 200..599
	Enhanced string // "5.1.1"; "" for none (220, 354 and 334 carry none)
	Text     string // the lines' text after the code, the separator and Enhanced, joined by "\n"
}

// Limits on what a server may send as one reply. RFC 5321 §4.5.3.1.5
// allows 512 octets a line; real servers exceed that, so the limit is
// generous, but a peer that streams without end cannot make the client
// grow without bound.
const (
	maxReplyLine  = 4096
	maxReplyLines = 256
)

// Limits on what the client keeps of a reply. A server may send up to
// maxReplyLines lines of maxReplyLine bytes (1 MiB), and whatever of it
// the client keeps goes into the log, the queue entry and DSNs at every
// attempt. As Postfix's smtp_chat does with line_length_limit (2048),
// lines are kept only until they add up to maxReplyKeep bytes; the rest
// is read and checked, so the session stays in step, and dropped. An
// EHLO reply longer than that loses its last keywords, as in Postfix.
const maxReplyKeep = 2048

// MaxReplyText bounds a reply rendered for a log line, a queue record or
// a DSN (String).
const MaxReplyText = 1000

// A reply that lost lines renders to at least half of maxReplyKeep
// bytes, so String always cuts it and marks it with maillog.Truncated:
// this does not compile when the limits stop saying so.
const _ = uint(maxReplyKeep/2 - MaxReplyText)

// errReplySyntax marks a reply that does not follow RFC 5321 §4.2. The
// session cannot go on after it: where the next reply starts is unknown.
var errReplySyntax = errors.New("malformed SMTP reply")

// Error lets a reply be returned as an error.
func (r *Reply) Error() string { return r.String() }

// Class is the first digit of the code: 2, 3, 4 or 5.
func (r *Reply) Class() int { return r.Code / 100 }

// Temporary reports a 4xx reply.
func (r *Reply) Temporary() bool { return r.Class() == 4 }

// DSN is the enhanced status code of the reply: Enhanced; else the code
// at the start of the first line, for a server that wrote it there but
// not on every line; else the default for the class (2.0.0, 4.0.0,
// 5.0.0), as Postfix does.
func (r *Reply) DSN() string {
	if r.Enhanced != "" {
		return r.Enhanced
	}
	first, _, _ := strings.Cut(r.Text, "\n")
	if n := enhancedLen(first, r.Class()); n > 0 {
		return first[:n]
	}
	switch r.Class() {
	case 2, 3:
		return "2.0.0"
	case 4:
		return "4.0.0"
	}
	return "5.0.0"
}

// Append appends the reply in wire form to b: a line per line of Text,
// each the code, '-' on every line but the last and ' ' on the last,
// Enhanced and a space when there is one, the text and CRLF. The
// separator is there even before an empty text: RFC 4954 §4 wants "334 "
// for an empty SASL challenge.
func (r *Reply) Append(b []byte) []byte {
	rest := r.Text
	for {
		line, next, more := strings.Cut(rest, "\n")
		sep := byte(' ')
		if more {
			sep = '-'
		}
		b = r.appendLine(b, sep, line)
		b = append(b, '\r', '\n')
		if !more {
			return b
		}
		rest = next
	}
}

// appendLine appends one line without its CRLF: the code, sep (0 for
// none), Enhanced and text.
func (r *Reply) appendLine(b []byte, sep byte, text string) []byte {
	b = append(b, byte('0'+r.Code/100%10), byte('0'+r.Code/10%10), byte('0'+r.Code%10))
	if sep != 0 {
		b = append(b, sep)
	}
	if r.Enhanced != "" {
		b = append(b, r.Enhanced...)
		if text == "" {
			return b
		}
		b = append(b, ' ')
	}
	return append(b, text...)
}

// String renders the reply on one line as Postfix logs it: the lines as
// on the wire, joined by spaces ("550-5.1.1 No such user 550 5.1.1 Try
// again"), so a DSN's Diagnostic-Code and the log carry the server's
// words exactly; a last line of the code alone is the code alone ("250").
// A reply longer than MaxReplyText bytes, or with lines dropped, is cut
// and ends in maillog.Truncated: every log line, queue record and DSN
// that quotes a reply goes through here.
func (r *Reply) String() string {
	b := make([]byte, 0, min(len(r.Text)+16, 2*MaxReplyText))
	rest := r.Text
	for {
		line, next, more := strings.Cut(rest, "\n")
		var sep byte = '-'
		switch {
		case !more && line == "" && r.Enhanced == "":
			sep = 0
		case !more:
			sep = ' '
		}
		b = r.appendLine(b, sep, line)
		if !more || len(b) > MaxReplyText {
			break
		}
		b = append(b, ' ')
		rest = next
	}
	return maillog.Truncate(string(b), MaxReplyText)
}

// readReply reads one reply from br. It is strict where ambiguity could
// desynchronize a pipelined session: every line is a three-digit code
// (2xx to 5xx), then '-' (more lines follow) or ' ' or the line end (the
// last line), and the code is the same on every line. Lines end in CRLF;
// a bare LF is tolerated as the end of a line, as every client does, but
// a CR anywhere else is not.
func readReply(br *bufio.Reader) (Reply, error) {
	var r Reply
	// The text of the lines kept, after code and separator, each followed
	// by '\n'. Most replies fit in the array, which stays on the stack.
	var stack [512]byte
	text := stack[:0]
	kept, lines, dropped := 0, 0, false
	// The enhanced code of the first line, copied: the line is in br's
	// buffer, which the next lines overwrite.
	var ebuf [16]byte
	var enhanced []byte
	every := true // every line kept begins with it
	for n := 0; ; n++ {
		if n == maxReplyLines {
			return Reply{}, fmt.Errorf("%w: more than %d lines", errReplySyntax, maxReplyLines)
		}
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) || len(line) > maxReplyLine {
			return Reply{}, fmt.Errorf("%w: line longer than %d bytes", errReplySyntax, maxReplyLine)
		}
		if err != nil {
			return Reply{}, err
		}
		line = line[:len(line)-1]
		line = bytes.TrimSuffix(line, []byte{'\r'})
		code, more, err := parseLine(line)
		if err != nil {
			return Reply{}, err
		}
		if n == 0 {
			r.Code = code
		} else if code != r.Code {
			return Reply{}, fmt.Errorf("%w: code %d after %d in one reply", errReplySyntax, code, r.Code)
		}
		if kept < maxReplyKeep {
			t := lineText(line)
			if n == 0 {
				enhanced = append(ebuf[:0], t[:enhancedLen(t, r.Class())]...)
			}
			every = every && len(enhanced) > 0 && carries(t, enhanced)
			text = append(append(text, t...), '\n')
			kept += len(line)
			lines++
		} else {
			dropped = true
		}
		if !more {
			break
		}
	}
	// Each line kept ended in '\n'. A reply that lost lines keeps the
	// last one, as an empty last line that stands for them (see Reply).
	if !dropped {
		text = text[:len(text)-1]
	}
	if !every {
		r.Text = string(text)
		return r, nil
	}
	// Every line begins with the code: it goes, with the space after it.
	// One string holds the code and the text, so a reply costs one
	// allocation.
	var b strings.Builder
	b.Grow(len(enhanced) + len(text) - lines*len(enhanced))
	b.Write(enhanced)
	for i := 0; i < lines; i++ {
		t, rest, _ := bytes.Cut(text, []byte{'\n'})
		if i > 0 {
			b.WriteByte('\n')
		}
		if t = t[len(enhanced):]; len(t) > 0 {
			b.Write(t[1:])
		}
		text = rest
	}
	if dropped {
		b.WriteByte('\n')
	}
	all := b.String()
	r.Enhanced, r.Text = all[:len(enhanced)], all[len(enhanced):]
	return r, nil
}

// lineText is the text of a reply line after its code and separator.
func lineText(line []byte) []byte {
	if len(line) <= 4 {
		return nil
	}
	return line[4:]
}

// carries reports whether the text of a line begins with the enhanced
// code e, alone or followed by a space.
func carries(text, e []byte) bool {
	return bytes.HasPrefix(text, e) && (len(text) == len(e) || text[len(e)] == ' ')
}

// parseLine checks one reply line (without its line end) and returns its
// code and whether more lines follow.
func parseLine(line []byte) (code int, more bool, err error) {
	if len(line) < 3 {
		return 0, false, fmt.Errorf("%w: %s", errReplySyntax, excerpt(line))
	}
	if line[0] < '2' || line[0] > '5' || !isDigit(line[1]) || !isDigit(line[2]) {
		return 0, false, fmt.Errorf("%w: bad code in %s", errReplySyntax, excerpt(line))
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	if len(line) > 3 {
		switch line[3] {
		case '-':
			more = true
		case ' ':
		default:
			return 0, false, fmt.Errorf("%w: bad separator in %s", errReplySyntax, excerpt(line))
		}
	}
	if bytes.IndexByte(line, '\r') >= 0 || bytes.IndexByte(line, 0) >= 0 {
		return 0, false, fmt.Errorf("%w: control character in %s", errReplySyntax, excerpt(line))
	}
	return code, more, nil
}

// excerpt quotes the start of a bad reply line for an error, which
// ends up in the log and the queue entry: not all of a line of up to
// maxReplyLine bytes.
func excerpt(line []byte) string {
	const n = 80
	if len(line) > n {
		return strconv.Quote(string(line[:n])) + maillog.Truncated
	}
	return strconv.Quote(string(line))
}

// enhancedLen returns the length of the RFC 3463 status code at the
// start of text, "class.subject.detail" followed by a space or the end,
// if its class agrees with the reply code's (RFC 2034 §3 requires it; a
// disagreeing code is a server bug and the reply code wins); 0 if there
// is none.
func enhancedLen[T string | []byte](text T, class int) int {
	if len(text) < 5 || int(text[0]-'0') != class || text[1] != '.' {
		return 0
	}
	i := 2
	for part := 0; part < 2; part++ {
		start := i
		for i < len(text) && isDigit(text[i]) && i-start < 3 {
			i++
		}
		if i == start {
			return 0
		}
		if part == 0 {
			if i >= len(text) || text[i] != '.' {
				return 0
			}
			i++
		}
	}
	if i < len(text) && text[i] != ' ' {
		return 0
	}
	return i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
