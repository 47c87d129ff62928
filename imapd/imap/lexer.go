package imap

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parser walks one command's bytes (literals inline, see Reader). Its
// methods follow the ABNF of RFC 9051 §9 and RFC 3501 §9.
type parser struct {
	buf   []byte
	pos   int
	lim   Limits
	depth int
}

// syntaxError is a BAD for malformed input; where says what was expected.
type syntaxError struct{ msg string }

func (e *syntaxError) Error() string { return e.msg }

func (p *parser) errorf(format string, args ...any) error {
	return &syntaxError{fmt.Sprintf(format, args...)}
}

// enter and leave bound nesting (Limits.Depth).
func (p *parser) enter() error {
	p.depth++
	if p.depth > p.lim.Depth {
		return p.errorf("nested too deeply")
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) peek() byte {
	if p.pos < len(p.buf) {
		return p.buf[p.pos]
	}
	return 0
}

// atEOL tells whether only the final CRLF is left.
func (p *parser) atEOL() bool {
	return p.pos >= len(p.buf)-2
}

func (p *parser) eol() error {
	if !p.atEOL() {
		return p.errorf("unexpected %q at the end of the command", p.rest())
	}
	return nil
}

func (p *parser) rest() string {
	r := p.buf[p.pos:]
	if len(r) > 20 {
		r = r[:20]
	}
	return strings.TrimRight(string(r), "\r\n")
}

func (p *parser) expect(c byte) error {
	if p.peek() != c {
		if p.atEOL() {
			return p.errorf("expected %q, the command ended", c)
		}
		return p.errorf("expected %q at %q", c, p.rest())
	}
	p.pos++
	return nil
}

func (p *parser) sp() error { return p.expect(' ') }

// maybe consumes c if it is next.
func (p *parser) maybe(c byte) bool {
	if p.peek() == c && !p.atEOL() {
		p.pos++
		return true
	}
	return false
}

// isAtomChar: any CHAR except atom-specials (RFC 3501 §9).
func isAtomChar(c byte) bool {
	switch c {
	case '(', ')', '{', ' ', '%', '*', '"', '\\', ']':
		return false
	}
	return c > 0x1f && c < 0x7f
}

// isTagChar: ASTRING-CHAR except "+".
func isTagChar(c byte) bool { return (isAtomChar(c) || c == ']') && c != '+' }

func isListChar(c byte) bool { return isAtomChar(c) || c == '%' || c == '*' || c == ']' }

// run consumes the longest run of bytes ok accepts.
func (p *parser) run(ok func(byte) bool) string {
	start := p.pos
	for p.pos < len(p.buf)-2 && ok(p.buf[p.pos]) {
		p.pos++
	}
	return string(p.buf[start:p.pos])
}

func (p *parser) atom() (string, error) {
	a := p.run(isAtomChar)
	if a == "" {
		return "", p.errorf("expected an atom at %q", p.rest())
	}
	return a, nil
}

// keyword reads an atom and upper-cases it, for command names and
// keywords.
func (p *parser) keyword() (string, error) {
	a, err := p.atom()
	return strings.ToUpper(a), err
}

// isString tells whether a quoted string or literal starts here.
func (p *parser) isString() bool {
	c := p.peek()
	return c == '"' || c == '{' || (c == '~' && p.pos+1 < len(p.buf) && p.buf[p.pos+1] == '{')
}

func (p *parser) string() (string, error) {
	switch {
	case p.peek() == '"':
		return p.quoted()
	case p.isString():
		b, err := p.literal()
		return string(b), err
	}
	return "", p.errorf("expected a string at %q", p.rest())
}

func (p *parser) quoted() (string, error) {
	p.pos++
	var sb strings.Builder
	for p.pos < len(p.buf) {
		c := p.buf[p.pos]
		p.pos++
		switch c {
		case '"':
			return sb.String(), nil
		case '\\':
			if p.pos >= len(p.buf) || (p.buf[p.pos] != '"' && p.buf[p.pos] != '\\') {
				return "", p.errorf("bad escape in a quoted string")
			}
			sb.WriteByte(p.buf[p.pos])
			p.pos++
		case '\r', '\n', 0:
			return "", p.errorf("quoted string not closed on its line")
		default:
			sb.WriteByte(c) // 8-bit is UTF-8 under RFC 9051 and UTF8=ACCEPT
		}
	}
	return "", p.errorf("quoted string not closed")
}

// literal reads "{n}" CRLF and n octets (the Reader put them inline),
// also "{n+}" and RFC 3516's "~{n}".
func (p *parser) literal() ([]byte, error) {
	p.maybe('~')
	if err := p.expect('{'); err != nil {
		return nil, err
	}
	digits := p.run(func(c byte) bool { return c >= '0' && c <= '9' })
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return nil, p.errorf("bad literal length")
	}
	p.maybe('+')
	if p.peek() != '}' || p.pos+3 > len(p.buf) || p.buf[p.pos+1] != '\r' || p.buf[p.pos+2] != '\n' {
		return nil, p.errorf("literal length not followed by CRLF")
	}
	p.pos += 3
	if int64(len(p.buf)-p.pos) < n {
		return nil, p.errorf("literal shorter than announced")
	}
	b := p.buf[p.pos : p.pos+int(n)]
	p.pos += int(n)
	return b, nil
}

// astring: 1*ASTRING-CHAR / string.
func (p *parser) astring() (string, error) {
	if p.isString() {
		return p.string()
	}
	a := p.run(func(c byte) bool { return isAtomChar(c) || c == ']' })
	if a == "" {
		return "", p.errorf("expected a string at %q", p.rest())
	}
	return a, nil
}

// nstring: string / NIL; nil for NIL.
func (p *parser) nstring() (*string, error) {
	if p.isString() {
		s, err := p.string()
		return &s, err
	}
	a, err := p.atom()
	if err != nil || !strings.EqualFold(a, "NIL") {
		return nil, p.errorf("expected a string or NIL")
	}
	return nil, nil
}

func (p *parser) number64() (uint64, error) {
	d := p.run(func(c byte) bool { return c >= '0' && c <= '9' })
	if d == "" {
		return 0, p.errorf("expected a number at %q", p.rest())
	}
	n, err := strconv.ParseUint(d, 10, 63) // RFC 9051 number64 is < 2^63
	if err != nil {
		return 0, p.errorf("number out of range")
	}
	return n, nil
}

func (p *parser) number() (uint32, error) {
	n, err := p.number64()
	if err == nil && n > 1<<32-1 {
		return 0, p.errorf("number out of range")
	}
	return uint32(n), err
}

func (p *parser) nzNumber() (uint32, error) {
	n, err := p.number()
	if err == nil && n == 0 {
		return 0, p.errorf("zero where a non-zero number is needed")
	}
	return n, err
}

// mailbox: "INBOX" / astring; kept as sent (see DecodeMailbox).
func (p *parser) mailbox() (string, error) { return p.astring() }

// listMailbox: 1*list-char / string.
func (p *parser) listMailbox() (string, error) {
	if p.isString() {
		return p.string()
	}
	a := p.run(isListChar)
	if a == "" {
		return "", p.errorf("expected a mailbox pattern at %q", p.rest())
	}
	return a, nil
}

// list parses "(" [item *(SP item)] ")"; empty is allowed when
// allowEmpty.
func (p *parser) list(allowEmpty bool, item func() error) error {
	if err := p.expect('('); err != nil {
		return err
	}
	if err := p.enter(); err != nil {
		return err
	}
	defer p.leave()
	if p.maybe(')') {
		if !allowEmpty {
			return p.errorf("empty list")
		}
		return nil
	}
	for {
		if err := item(); err != nil {
			return err
		}
		if p.maybe(')') {
			return nil
		}
		if err := p.sp(); err != nil {
			return p.errorf("expected SP or \")\" at %q", p.rest())
		}
	}
}

// flag: "\" atom / atom (keywords); "\*" only where allowed.
func (p *parser) flag() (string, error) {
	if p.maybe('\\') {
		if p.maybe('*') {
			return `\*`, nil
		}
		a, err := p.atom()
		return `\` + a, err
	}
	return p.atom()
}

func (p *parser) flagList() ([]string, error) {
	flags := []string{}
	err := p.list(true, func() error {
		f, err := p.flag()
		flags = append(flags, f)
		return err
	})
	return flags, err
}

// date: date-text / DQUOTE date-text DQUOTE, "1-Feb-1994".
func (p *parser) date() (time.Time, error) {
	q := p.maybe('"')
	s := p.run(func(c byte) bool { return isAtomChar(c) })
	if q {
		if err := p.expect('"'); err != nil {
			return time.Time{}, err
		}
	}
	t, err := time.Parse("2-Jan-2006", s)
	if err != nil {
		return time.Time{}, p.errorf("bad date %q", s)
	}
	return t, nil
}

// dateTime: DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP
// zone DQUOTE (RFC 3501 §9), as in APPEND.
func (p *parser) dateTime() (time.Time, error) {
	s, err := p.quoted()
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse("_2-Jan-2006 15:04:05 -0700", s)
	if err != nil {
		t, err = time.Parse("2-Jan-2006 15:04:05 -0700", s)
	}
	if err != nil {
		return time.Time{}, p.errorf("bad date-time %q", s)
	}
	return t, nil
}
