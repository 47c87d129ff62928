package smtp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"postern.dev/postern/libmail/ipc/delivery"
)

// Limits on what a server may send as one reply. RFC 5321 §4.5.3.1.5
// allows 512 octets a line; real servers exceed that, so the limit is
// generous, but a peer that streams without end cannot make the agent
// grow without bound.
const (
	maxReplyLine  = 4096
	maxReplyLines = 256
)

// Limits on what the agent keeps of a reply. A server may send up to
// maxReplyLines lines of maxReplyLine bytes (1 MiB), and whatever of it
// the agent keeps goes into the log, the queue entry and DSNs at every
// attempt. As Postfix's smtp_chat does with line_length_limit (2048),
// lines are kept only until they add up to maxReplyKeep bytes; the rest
// is read and checked, so the session stays in step, and dropped. An
// EHLO reply longer than that loses its last keywords, as in Postfix.
// Rendered, a reply is at most maxReplyText bytes.
const (
	maxReplyKeep = 2048
	maxReplyText = 1000
)

// Reply is one SMTP reply, possibly of several lines.
type Reply struct {
	Code     int      // 200..599
	Enhanced string   // RFC 3463 code from the first line ("2.0.0"), or ""
	Lines    []string // each line kept, as received, without CRLF: "250-PIPELINING"
	Dropped  int      // lines read after maxReplyKeep bytes, and not kept
}

// errReplySyntax marks a reply that does not follow RFC 5321 §4.2. The
// session cannot go on after it: where the next reply starts is unknown.
var errReplySyntax = errors.New("malformed SMTP reply")

// String renders the reply on one line as Postfix logs it: the lines as
// received, joined by spaces ("550-5.1.1 No such user 550 5.1.1 Try
// again"), so a DSN's Diagnostic-Code and the log carry the server's
// words exactly. A reply longer than maxReplyText bytes, or with lines
// dropped, is cut and ends in "...": every log line, queue record and
// DSN that quotes a reply goes through here.
func (r *Reply) String() string {
	s := strings.Join(r.Lines, " ")
	if r.Dropped > 0 {
		s += " " + delivery.Truncated
	}
	return delivery.Truncate(s, maxReplyText)
}

// Class is the first digit of the code: 2, 3, 4 or 5.
func (r *Reply) Class() int { return r.Code / 100 }

// DSN is the enhanced status code of the reply, or the default for its
// class (2.0.0, 4.0.0, 5.0.0) when the server sent none, as Postfix does.
func (r *Reply) DSN() string {
	if r.Enhanced != "" {
		return r.Enhanced
	}
	switch r.Class() {
	case 2, 3:
		return "2.0.0"
	case 4:
		return "4.0.0"
	}
	return "5.0.0"
}

// Text is the text of line i after the code and separator: an EHLO
// keyword, or where the enhanced status code is.
func (r *Reply) Text(i int) string {
	l := r.Lines[i]
	if len(l) <= 4 {
		return ""
	}
	return l[4:]
}

// readReply reads one reply from br. It is strict where ambiguity could
// desynchronize a pipelined session: every line is a three-digit code
// (2xx to 5xx), then '-' (more lines follow) or ' ' or the line end (the
// last line), and the code is the same on every line. Lines end in CRLF;
// a bare LF is tolerated as the end of a line, as every client does, but
// a CR anywhere else is not.
func readReply(br *bufio.Reader) (Reply, error) {
	var r Reply
	kept := 0
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
			r.Lines = append(r.Lines, string(line))
			kept += len(line)
		} else {
			r.Dropped++
		}
		if !more {
			break
		}
	}
	r.Enhanced = enhancedCode(r.Text(0), r.Class())
	return r, nil
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
		return strconv.Quote(string(line[:n])) + delivery.Truncated
	}
	return strconv.Quote(string(line))
}

// enhancedCode returns the RFC 3463 status code at the start of text,
// "class.subject.detail" followed by a space or the end, if its class
// agrees with the reply code's (RFC 2034 §3 requires it; a disagreeing
// code is a server bug and the reply code wins).
func enhancedCode(text string, class int) string {
	if len(text) < 5 || int(text[0]-'0') != class || text[1] != '.' {
		return ""
	}
	i := 2
	for part := 0; part < 2; part++ {
		start := i
		for i < len(text) && isDigit(text[i]) && i-start < 3 {
			i++
		}
		if i == start {
			return ""
		}
		if part == 0 {
			if i >= len(text) || text[i] != '.' {
				return ""
			}
			i++
		}
	}
	if i < len(text) && text[i] != ' ' {
		return ""
	}
	return text[:i]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseReply parses data as one complete reply; it is readReply on a
// buffer, for tests and the fuzz target.
func parseReply(data []byte) (Reply, error) {
	br := bufio.NewReaderSize(bytes.NewReader(data), maxReplyLine+2)
	r, err := readReply(br)
	if err != nil {
		return Reply{}, err
	}
	if br.Buffered() > 0 {
		return Reply{}, fmt.Errorf("%w: data after the last line", errReplySyntax)
	}
	return r, nil
}
