package spf

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// macroString is a parsed macro-string (RFC 7208 §7.1): literal text
// and macro expansions, in order.
type macroString []macroPart

// escapes are the literal macro-expands "%%", "%_" and "%-" (RFC 7208
// §7.1), by their second character.
var escapes = map[byte]string{'%': "%", '_': " ", '-': "%20"}

// macroPart is literal text (letter 0) or one %{...} expansion.
type macroPart struct {
	lit     string
	src     string // "%%", "%_" or "%-" when lit is one of those
	letter  byte   // s l o d i p h c r t v, lowercase
	upper   bool   // an uppercase letter: URL-escape the expansion (§7.3)
	keep    int    // the DIGIT transformer: rightmost parts to keep; 0 for all
	reverse bool   // the "r" transformer
	delims  string // the delimiters to split on; "" for "."
}

// maxKeep caps the DIGIT transformer; no value has more parts.
const maxKeep = 255

// parseMacroString parses s as a macro-string, or, with explain, as an
// explain-string: the text of an explanation, which may also hold
// spaces and the macro letters c, r and t (RFC 7208 §7.1). It returns
// the offset just past the last macro-expand ("%{...}", "%%", "%_",
// "%-"), which a domain-spec may end in.
func parseMacroString(s string, explain bool) (macroString, int, error) {
	var m macroString
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			m = append(m, macroPart{lit: lit.String()})
			lit.Reset()
		}
	}
	lastExpand := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+1 == len(s) {
				return nil, 0, fmt.Errorf("%q: '%%' at the end", s)
			}
			i++
			switch s[i] {
			case '%', '_', '-':
				flush()
				m = append(m, macroPart{lit: escapes[s[i]], src: s[i-1 : i+1]})
			case '{':
				end := strings.IndexByte(s[i:], '}')
				if end < 0 {
					return nil, 0, fmt.Errorf("%q: unterminated macro", s)
				}
				p, err := parseExpand(s[i+1:i+end], explain)
				if err != nil {
					return nil, 0, fmt.Errorf("%q: %w", s, err)
				}
				flush()
				m = append(m, p)
				i += end
			default:
				// RFC 7208 §7.1: a '%' not followed by '{', '%', '-'
				// or '_' is a syntax error.
				return nil, 0, fmt.Errorf("%q: '%%' followed by %q", s, s[i])
			}
			lastExpand = i + 1
		case c >= 0x21 && c <= 0x7e, c == ' ' && explain:
			lit.WriteByte(c)
		default:
			return nil, 0, fmt.Errorf("%q: character %q not allowed", s, c)
		}
	}
	flush()
	return m, lastExpand, nil
}

// parseExpand parses the inside of "%{...}": macro-letter transformers
// *delimiter.
func parseExpand(body string, explain bool) (macroPart, error) {
	if body == "" {
		return macroPart{}, fmt.Errorf("empty macro")
	}
	p := macroPart{letter: body[0] | 0x20, upper: body[0] >= 'A' && body[0] <= 'Z'}
	switch p.letter {
	case 's', 'l', 'o', 'd', 'i', 'p', 'h', 'v':
	case 'c', 'r', 't':
		// RFC 7208 §7.2: these only in explanation text.
		if !explain {
			return p, fmt.Errorf("macro letter %q only allowed in an explanation", body[0])
		}
	default:
		return p, fmt.Errorf("unknown macro letter %q", body[0])
	}
	rest := body[1:]
	digits := 0
	for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
		digits++
	}
	if digits > 0 {
		n := 0
		for _, d := range rest[:digits] {
			n = min(n*10+int(d-'0'), maxKeep)
		}
		if n == 0 {
			// RFC 7208 §7.3: if a DIGIT is specified, it must be nonzero.
			return p, fmt.Errorf("macro transformer 0")
		}
		p.keep = n
		rest = rest[digits:]
	}
	if rest != "" && (rest[0] == 'r' || rest[0] == 'R') {
		p.reverse = true
		rest = rest[1:]
	}
	for i := 0; i < len(rest); i++ {
		if !strings.ContainsRune(".-+,/_=", rune(rest[i])) {
			return p, fmt.Errorf("macro delimiter %q", rest[i])
		}
	}
	p.delims = rest
	return p, nil
}

// parseDomainSpec parses a domain-spec (RFC 7208 §7.1): a macro-string
// that ends in a macro-expand or in "." and a top-level label, with
// perhaps a final dot.
func parseDomainSpec(s string) (macroString, error) {
	if s == "" {
		return nil, fmt.Errorf("empty domain-spec")
	}
	m, lastExpand, err := parseMacroString(s, false)
	if err != nil {
		return nil, err
	}
	if tail := s[lastExpand:]; tail != "" {
		tail = strings.TrimSuffix(tail, ".")
		dot := strings.LastIndexByte(tail, '.')
		if dot < 0 || !isTopLabel(tail[dot+1:]) {
			return nil, fmt.Errorf("domain-spec %q does not end in a macro or a top-level label", s)
		}
	}
	return m, nil
}

// isTopLabel: toplabel = ( *alphanum ALPHA *alphanum ) /
// ( 1*alphanum "-" *( alphanum / "-" ) alphanum ), so letters, digits
// and inner hyphens, and not all digits.
func isTopLabel(l string) bool {
	if l == "" || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	allDigits := true
	for i := 0; i < len(l); i++ {
		c := l[i] | 0x20
		switch {
		case c >= 'a' && c <= 'z', l[i] == '-':
			allDigits = false
		case l[i] >= '0' && l[i] <= '9':
		default:
			return false
		}
	}
	return !allDigits
}

// String renders m in macro-string syntax.
func (m macroString) String() string {
	var b strings.Builder
	for _, p := range m {
		if p.src != "" {
			b.WriteString(p.src)
			continue
		}
		if p.letter == 0 {
			b.WriteString(p.lit)
			continue
		}
		l := p.letter
		if p.upper {
			l -= 0x20
		}
		b.WriteString("%{")
		b.WriteByte(l)
		if p.keep > 0 {
			b.WriteString(strconv.Itoa(p.keep))
		}
		if p.reverse {
			b.WriteByte('r')
		}
		b.WriteString(p.delims)
		b.WriteByte('}')
	}
	return b.String()
}

// macroEnv is what the macro letters expand to (RFC 7208 §7.3).
type macroEnv struct {
	sender string     // s
	local  string     // l
	origin string     // o: the sender's domain
	domain string     // d: the domain whose record is evaluated
	ip     netip.Addr // i, c, v
	helo   string     // h
	// validated returns p, the validated name of ip (RFC 7208 §7.3),
	// for the current domain.
	validated func(domain string) string
	receiver  string    // r
	now       time.Time // t
}

// expand expands m.
func (m macroString) expand(env *macroEnv) string {
	var b strings.Builder
	for _, p := range m {
		if p.letter == 0 {
			b.WriteString(p.lit)
			continue
		}
		v := transform(env.value(p.letter), p)
		if p.upper {
			v = urlEscape(v)
		}
		b.WriteString(v)
	}
	return b.String()
}

func (env *macroEnv) value(letter byte) string {
	switch letter {
	case 's':
		return env.sender
	case 'l':
		return env.local
	case 'o':
		return env.origin
	case 'd':
		return env.domain
	case 'i':
		return dotFormat(env.ip)
	case 'p':
		return env.validated(env.domain)
	case 'h':
		return env.helo
	case 'v':
		if env.ip.Is4() {
			return "in-addr"
		}
		return "ip6"
	case 'c':
		return env.ip.String()
	case 'r':
		if env.receiver == "" {
			return "unknown"
		}
		return env.receiver
	case 't':
		return strconv.FormatInt(env.now.Unix(), 10)
	}
	return ""
}

// dotFormat is the "i" macro: dotted quad for IPv4, and for IPv6 the
// 32 nibbles separated by dots (RFC 7208 §7.3), meant for %{ir}. The
// nibbles are uppercase, as the OpenSPF test suite's explanations have
// them; DNS names compare without case.
func dotFormat(ip netip.Addr) string {
	if ip.Is4() {
		return ip.String()
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, 63)
	for _, x := range ip.As16() {
		b = append(b, hex[x>>4], '.', hex[x&0xf], '.')
	}
	return string(b[:len(b)-1])
}

// transform applies a macro's transformers (RFC 7208 §7.3): split on the
// delimiters, reverse, keep the rightmost parts, join with dots.
func transform(v string, p macroPart) string {
	if p.keep == 0 && !p.reverse && p.delims == "" {
		return v
	}
	delims := p.delims
	if delims == "" {
		delims = "."
	}
	var parts []string
	start := 0
	for i := 0; i < len(v); i++ {
		if strings.IndexByte(delims, v[i]) >= 0 {
			parts = append(parts, v[start:i])
			start = i + 1
		}
	}
	parts = append(parts, v[start:])
	if p.reverse {
		for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
			parts[i], parts[j] = parts[j], parts[i]
		}
	}
	if p.keep > 0 && p.keep < len(parts) {
		parts = parts[len(parts)-p.keep:]
	}
	return strings.Join(parts, ".")
}

// urlEscape escapes every octet outside RFC 3986's unreserved set, as
// uppercase macro letters ask (RFC 7208 §7.3).
func urlEscape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}

// targetName makes an expanded domain-spec a name to look up: without
// its final dot, and, when longer than 253 characters, without as many
// labels on the left as it takes to fit (RFC 7208 §7.3).
func targetName(s string) string {
	s = strings.TrimSuffix(s, ".")
	for len(s) > 253 {
		dot := strings.IndexByte(s, '.')
		if dot < 0 {
			break
		}
		s = s[dot+1:]
	}
	return s
}
