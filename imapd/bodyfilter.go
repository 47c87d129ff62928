package imapd

import (
	"bytes"
	"io"

	"postern.dev/postern/imapd/imap"
)

// bodyFilter rules messages out of a BODY or TEXT search from the raw
// file, read once into a reused buffer, before the Matcher parses the
// MIME structure and decodes each text part, which was most of a body
// search's time. A message whose file does not hold an ANDed needle
// anywhere, in any case, cannot match where decoding is the identity:
// a file of 7-bit bytes without NUL (no Unicode folding can turn a
// byte into the needle), no encoded word ("=?", in embedded headers),
// no base64 or quoted-printable, and every charset one whose 7-bit
// bytes are ASCII. Any other message goes to the Matcher, as do the
// ones that hold the needle.
type bodyFilter struct {
	needles [][]byte // lower case
	buf     []byte   // the file, lowered in place; reused
}

// newBodyFilter collects the ANDed BODY and TEXT needles of key, nil
// when there are none or the command's charset may not be
// ASCII-compatible.
func newBodyFilter(key *imap.SearchKey, charset string) *bodyFilter {
	switch charset {
	case "", "US-ASCII", "UTF-8":
	default:
		return nil
	}
	f := &bodyFilter{}
	f.collect(key)
	if len(f.needles) == 0 {
		return nil
	}
	return f
}

func (f *bodyFilter) collect(k *imap.SearchKey) {
	switch k.Op {
	case "AND":
		for _, sub := range k.Sub {
			f.collect(sub)
		}
	case "BODY", "TEXT":
		if n := plainNeedle(k.Value); n != nil {
			f.needles = append(f.needles, n)
		}
	}
}

// rejects reads the message and tells whether it certainly does not
// match; on a read error it does not reject (the Matcher reports it).
func (f *bodyFilter) rejects(r io.Reader, size int64) bool {
	if f.buf == nil {
		f.buf = make([]byte, 0, 256<<10)
	}
	b := f.buf[:0]
	if int64(cap(b)) < size+1 {
		b = make([]byte, 0, size+1)
	}
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return false
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // grow
		}
	}
	f.buf = b[:0]
	if bytes.IndexByte(b, 0) >= 0 {
		return false
	}
	// Folded in place: b is lower case from here on.
	if _, ascii := foldASCII(b[:0], b); !ascii {
		return false
	}
	for _, n := range f.needles {
		if bytes.Contains(b, n) {
			continue
		}
		return identityDecoded(b)
	}
	return false
}

// identityDecoded tells whether decoding the lowered 7-bit message
// gives its bytes back: no encoded word, no base64 or quoted-printable,
// and only ASCII-compatible charsets named.
func identityDecoded(b []byte) bool {
	if bytes.Contains(b, []byte("=?")) || bytes.Contains(b, []byte("base64")) || bytes.Contains(b, []byte("quoted-printable")) {
		return false
	}
	for rest := b; ; {
		i := bytes.Index(rest, []byte("charset"))
		if i < 0 {
			return true
		}
		rest = rest[i+len("charset"):]
		if !asciiCharset(rest) {
			return false
		}
	}
}

// asciiCharset tells whether what follows "charset" is "=" and a
// charset whose bytes below 0x80 are ASCII, as go-message decodes it.
func asciiCharset(s []byte) bool {
	s = bytes.TrimLeft(s, " \t")
	if len(s) == 0 || s[0] != '=' {
		return false
	}
	s = bytes.TrimLeft(s[1:], " \t")
	s = bytes.TrimPrefix(s, []byte(`"`))
	end := 0
	for end < len(s) && (s[end] == '-' || s[end] == '_' || 'a' <= s[end] && s[end] <= 'z' || '0' <= s[end] && s[end] <= '9') {
		end++
	}
	switch name := string(s[:end]); name {
	case "us-ascii", "ascii", "utf-8", "utf8",
		"iso-8859-1", "iso-8859-2", "iso-8859-3", "iso-8859-4", "iso-8859-5",
		"iso-8859-6", "iso-8859-7", "iso-8859-8", "iso-8859-9", "iso-8859-10",
		"iso-8859-13", "iso-8859-14", "iso-8859-15", "iso-8859-16",
		"windows-1250", "windows-1251", "windows-1252", "windows-1253",
		"windows-1254", "windows-1255", "windows-1256", "windows-1257", "windows-1258":
		return true
	}
	return false
}
