package imapd

import (
	"bytes"

	"postern.dev/postern/imapd/imap"
)

// prefilter rules messages out of a header search before the Matcher
// parses their header, which is most of a header search's time: a
// message whose header section does not hold a needle of an ANDed
// FROM/TO/CC/BCC/SUBJECT/HEADER key anywhere, in any case, cannot
// match. That holds only where the decoded text is the raw text: a
// header of ASCII without encoded words ("=?") or quoted-pair escapes,
// and needles of ASCII without white space (unfolding only drops the
// CRLF before white space). Any other header goes to the Matcher.
type prefilter struct {
	needles [][]byte // lower case
	lower   []byte   // reused
}

// newPrefilter collects the needles of key, nil when there are none
// or the command's charset may not be ASCII-compatible.
func newPrefilter(key *imap.SearchKey, charset string) *prefilter {
	switch charset {
	case "", "US-ASCII", "UTF-8":
	default:
		return nil
	}
	p := &prefilter{}
	p.collect(key)
	if len(p.needles) == 0 {
		return nil
	}
	return p
}

func (p *prefilter) collect(k *imap.SearchKey) {
	switch k.Op {
	case "AND":
		for _, sub := range k.Sub {
			p.collect(sub)
		}
	case "FROM", "TO", "CC", "BCC", "SUBJECT", "HEADER":
		if n := plainNeedle(k.Value); n != nil {
			p.needles = append(p.needles, n)
		}
	}
}

// plainNeedle is the needle in lower case, or nil if it is empty or
// holds white space or anything but printable ASCII.
func plainNeedle(s string) []byte {
	if s == "" {
		return nil
	}
	b := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f {
			return nil
		}
		b[i] = lowerASCII(c)
	}
	return b
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// rejects tells whether the header h certainly does not match.
func (p *prefilter) rejects(h []byte) bool {
	if bytes.IndexByte(h, '\\') >= 0 {
		return false
	}
	var ascii bool
	if p.lower, ascii = foldASCII(p.lower[:0], h); !ascii {
		return false
	}
	if bytes.Contains(p.lower, []byte("=?")) {
		return false
	}
	for _, n := range p.needles {
		if !bytes.Contains(p.lower, n) {
			return true
		}
	}
	return false
}
