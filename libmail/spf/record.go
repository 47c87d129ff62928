package spf

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// version is the version section every SPF record begins with (RFC 7208
// §4.5), compared without case.
const version = "v=spf1"

// record is a parsed SPF record (RFC 7208 §4.6, §12).
type record struct {
	directives []directive
	redirect   macroString // nil when absent
	exp        macroString // nil when absent
	unknown    []string    // unknown modifiers, ignored (§6), as written
}

// directive is a qualifier and a mechanism (RFC 7208 §4.6.2, §5).
type directive struct {
	text   string  // as the record wrote it, for Result.Mechanism
	result Verdict // the qualifier's: Pass, Fail, SoftFail or Neutral
	mech   string  // all, include, a, mx, ptr, ip4, ip6, exists
	// domain is the domain-spec of include, exists, a, mx and ptr; nil
	// when a, mx or ptr omit it for the current domain.
	domain macroString
	// cidr4 and cidr6 are the prefix lengths a and mx compare with
	// (dual-cidr-length, §5.6), 32 and 128 when omitted.
	cidr4, cidr6 int
	network      netip.Prefix // ip4, ip6
}

// isRecord reports whether a TXT record is an SPF record: it begins with
// the version, followed by a space or nothing (RFC 7208 §4.5).
func isRecord(txt string) bool {
	return len(txt) >= len(version) && strings.EqualFold(txt[:len(version)], version) &&
		(len(txt) == len(version) || txt[len(version)] == ' ')
}

// parseRecord parses an SPF record. Any syntax error anywhere in it is
// an error, found before anything is evaluated (RFC 7208 §4.6).
func parseRecord(txt string) (*record, error) {
	if !isRecord(txt) {
		return nil, fmt.Errorf("not an SPF record")
	}
	for i := 0; i < len(txt); i++ {
		// record = version terms *SP, with terms separated by spaces
		// only; everything else is visible US-ASCII (RFC 7208 §3.1,
		// §4.6.1, §12). Tabs, line ends and 8-bit octets are errors.
		if c := txt[i]; c != ' ' && (c < 0x21 || c > 0x7e) {
			return nil, fmt.Errorf("character %q at offset %d", c, i)
		}
	}
	r := &record{}
	for i, term := range strings.Split(txt, " ") {
		if i == 0 || term == "" {
			continue
		}
		if err := r.parseTerm(term); err != nil {
			return nil, fmt.Errorf("term %q: %w", term, err)
		}
	}
	return r, nil
}

// parseTerm adds one directive or modifier to r.
func (r *record) parseTerm(term string) error {
	// RFC 7208 §4.6.1: a modifier is a name and "=", the "=" before any
	// ":" or "/"; modifiers take no qualifier.
	if i := strings.IndexAny(term, "=:/"); i >= 0 && term[i] == '=' {
		return r.parseModifier(term[:i], term[i+1:])
	}
	d := directive{text: term, result: Pass, cidr4: 32, cidr6: 128}
	switch term[0] {
	case '+':
		term = term[1:]
	case '-':
		d.result, term = Fail, term[1:]
	case '~':
		d.result, term = SoftFail, term[1:]
	case '?':
		d.result, term = Neutral, term[1:]
	}
	name, arg := term, ""
	if i := strings.IndexAny(term, ":/"); i >= 0 {
		name, arg = term[:i], term[i:]
	}
	d.mech = strings.ToLower(name)
	var err error
	switch d.mech {
	case "all":
		if arg != "" {
			err = fmt.Errorf("all takes no argument")
		}
	case "include", "exists":
		if !strings.HasPrefix(arg, ":") {
			err = fmt.Errorf("%s needs a domain", d.mech)
			break
		}
		d.domain, err = parseDomainSpec(arg[1:])
	case "ptr":
		if arg != "" {
			if !strings.HasPrefix(arg, ":") {
				err = fmt.Errorf("ptr takes no prefix length")
				break
			}
			d.domain, err = parseDomainSpec(arg[1:])
		}
	case "a", "mx":
		arg, d.cidr4, d.cidr6, err = cutDualCIDR(arg)
		if err == nil && arg != "" {
			if !strings.HasPrefix(arg, ":") {
				err = fmt.Errorf("%q after %s", arg, d.mech)
				break
			}
			d.domain, err = parseDomainSpec(arg[1:])
		}
	case "ip4", "ip6":
		if !strings.HasPrefix(arg, ":") {
			err = fmt.Errorf("%s needs a network", d.mech)
			break
		}
		d.network, err = parseNetwork(arg[1:], d.mech == "ip6")
	default:
		err = fmt.Errorf("unknown mechanism %q", name)
	}
	if err != nil {
		return err
	}
	r.directives = append(r.directives, d)
	return nil
}

// parseModifier adds a modifier (RFC 7208 §6) to r.
func (r *record) parseModifier(name, value string) error {
	if !isModifierName(name) {
		return fmt.Errorf("invalid modifier name %q", name)
	}
	switch strings.ToLower(name) {
	case "redirect", "exp":
		// RFC 7208 §6: each at most once. "exp=" is an error too
		// (an erratum settled what §6.2 left open).
		m, err := parseDomainSpec(value)
		if err != nil {
			return err
		}
		target := &r.redirect
		if strings.EqualFold(name, "exp") {
			target = &r.exp
		}
		if *target != nil {
			return fmt.Errorf("%s twice", strings.ToLower(name))
		}
		*target = m
	default:
		// Unknown modifiers are ignored, but must be valid (§4.6.1).
		if _, _, err := parseMacroString(value, false); err != nil {
			return err
		}
		r.unknown = append(r.unknown, name+"="+value)
	}
	return nil
}

// isModifierName: name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ).
func isModifierName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c >= 'a' && c <= 'z' {
			continue
		}
		if i == 0 || !(s[i] >= '0' && s[i] <= '9' || s[i] == '-' || s[i] == '_' || s[i] == '.') {
			return false
		}
	}
	return true
}

// cutDualCIDR takes a dual-cidr-length ("/24", "//64", "/24//64") off
// the end of the argument of a or mx, and returns the rest and the two
// lengths, 32 and 128 by default (RFC 7208 §5.6).
func cutDualCIDR(arg string) (rest string, v4, v6 int, err error) {
	v4, v6 = 32, 128
	if i := strings.LastIndex(arg, "//"); i >= 0 && isDigits(arg[i+2:]) {
		if v6, err = parseCIDR(arg[i+2:], 128); err != nil {
			return "", 0, 0, err
		}
		arg = arg[:i]
	}
	if i := strings.LastIndexByte(arg, '/'); i >= 0 && isDigits(arg[i+1:]) {
		if v4, err = parseCIDR(arg[i+1:], 32); err != nil {
			return "", 0, 0, err
		}
		arg = arg[:i]
	}
	return arg, v4, v6, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseCIDR parses a prefix length: "0", or digits without a leading
// zero (RFC 7208 §5.6 forbids leading zeros in the address, and the
// OpenSPF suite reads the length the same way), at most max.
func parseCIDR(s string, max int) (int, error) {
	if !isDigits(s) || len(s) > 3 || len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("invalid prefix length %q", s)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > max {
		return 0, fmt.Errorf("invalid prefix length %q", s)
	}
	return n, nil
}

// parseNetwork parses the argument of ip4 or ip6: an address of that
// family and perhaps a prefix length (RFC 7208 §5.6).
func parseNetwork(s string, v6 bool) (netip.Prefix, error) {
	addr, length, hasLength := strings.Cut(s, "/")
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Zone() != "" || ip.Is4() == v6 {
		return netip.Prefix{}, fmt.Errorf("invalid address %q", addr)
	}
	bits := ip.BitLen()
	if hasLength {
		if bits, err = parseCIDR(length, ip.BitLen()); err != nil {
			return netip.Prefix{}, err
		}
	}
	return netip.PrefixFrom(ip, bits).Masked(), nil
}

// String renders r in a canonical form that parses to the same record.
func (r *record) String() string {
	terms := []string{version}
	for _, d := range r.directives {
		terms = append(terms, d.String())
	}
	if r.redirect != nil {
		terms = append(terms, "redirect="+r.redirect.String())
	}
	if r.exp != nil {
		terms = append(terms, "exp="+r.exp.String())
	}
	return strings.Join(append(terms, r.unknown...), " ")
}

func (d directive) String() string {
	q := map[Verdict]string{Pass: "+", Fail: "-", SoftFail: "~", Neutral: "?"}[d.result]
	s := q + d.mech
	switch d.mech {
	case "ip4", "ip6":
		s += ":" + d.network.Addr().String()
		if d.network.Bits() != d.network.Addr().BitLen() {
			s += "/" + strconv.Itoa(d.network.Bits())
		}
		return s
	}
	if d.domain != nil {
		s += ":" + d.domain.String()
	}
	if d.mech == "a" || d.mech == "mx" {
		if d.cidr4 != 32 {
			s += "/" + strconv.Itoa(d.cidr4)
		}
		if d.cidr6 != 128 {
			s += "//" + strconv.Itoa(d.cidr6)
		}
	}
	return s
}
