package dmarc

import (
	"bytes"
	"io"
	"mime"
	"net/mail"
	"slices"
	"strings"
)

var fromName = []byte("From")

// AuthorDomains returns the author domains of a message (RFC 7489
// §6.6.1): the domains of the addresses in its From: fields, A-labels in
// lower case, each once, in order. fields are header fields as intake
// captures them (a Tap's Header calls, or message.Fields): name, colon,
// body and folded lines; fields not named From are skipped, so all of a
// header may be passed.
//
// Every From: field counts, and every address in each: RFC 5322 §3.6
// allows one field, which may hold several mailboxes, but a forger who
// adds a second field, or a second mailbox, must not hide the domain an
// MUA shows behind one that passes (Evaluate judges them all). Display
// names, comments, groups and encoded words in any charset are parsed
// with net/mail. A field net/mail cannot parse is read more crudely: the
// domain after each "@" in it, so that a malformed From: does not slip
// past the policy of a domain it names. Address literals ([192.0.2.1])
// and names that are no host names are left out; a message whose From:
// gives no domain gets an empty list (Evaluate: None). The list stops at
// MaxAuthorDomains+1 domains, enough for Evaluate to refuse the message.
func AuthorDomains(fields [][]byte) []string {
	var out []string
	add := func(d string) {
		if len(out) > MaxAuthorDomains {
			return
		}
		if d = domain(d); d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	p := mail.AddressParser{WordDecoder: &mime.WordDecoder{CharsetReader: keepCharset}}
	for _, f := range fields {
		name, body, ok := bytes.Cut(f, []byte(":"))
		if !ok || !bytes.EqualFold(bytes.TrimRight(name, " \t"), fromName) {
			continue
		}
		v := unfold(body)
		list, err := p.ParseList(v)
		if err != nil {
			for _, d := range domainsAfterAt(v) {
				add(d)
			}
			continue
		}
		for _, a := range list {
			if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
				add(a.Address[i+1:])
			}
		}
	}
	return out
}

// keepCharset lets net/mail get past an encoded word in a charset it
// does not know (it refuses the whole list otherwise): display names do
// not matter here, only addresses.
func keepCharset(_ string, r io.Reader) (io.Reader, error) { return r, nil }

// unfold returns a field body without its line ends (RFC 5322 §2.2.3).
func unfold(b []byte) string {
	s := string(b)
	if strings.ContainsAny(s, "\r\n") {
		s = strings.NewReplacer("\r", "", "\n", "").Replace(s)
	}
	return strings.TrimSpace(s)
}

// domainsAfterAt returns what follows each "@" in s up to the first
// character that cannot be part of a domain name (ASCII letters, digits,
// '-', '.', and any non-ASCII byte for U-labels).
func domainsAfterAt(s string) []string {
	var ds []string
	for {
		i := strings.IndexByte(s, '@')
		if i < 0 {
			return ds
		}
		s = s[i+1:]
		n := 0
		for n < len(s) && isDomainByte(s[n]) {
			n++
		}
		if n > 0 {
			ds = append(ds, s[:n])
		}
		s = s[n:]
	}
}

func isDomainByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c >= 0x80
}
