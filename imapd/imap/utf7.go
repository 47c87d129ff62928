package imap

import (
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Mailbox names travel in modified UTF-7 (RFC 3501 §5.1.3) to IMAP4rev1
// clients and as UTF-8 once a client enabled IMAP4rev2 or UTF8=ACCEPT
// (RFC 9051 §5.1, RFC 6855 §3). The store keeps UTF-8.

// b64 is RFC 3501's modified base64: "," instead of "/", no padding.
var b64 = base64.NewEncoding("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,").WithPadding(base64.NoPadding)

// EncodeMailbox turns a UTF-8 mailbox name into its wire form.
func EncodeMailbox(name string, utf8Mode bool) string {
	if utf8Mode {
		return name
	}
	var sb strings.Builder
	var run []rune
	flush := func() {
		if len(run) == 0 {
			return
		}
		u := utf16.Encode(run)
		b := make([]byte, 0, 2*len(u))
		for _, c := range u {
			b = append(b, byte(c>>8), byte(c))
		}
		sb.WriteByte('&')
		sb.WriteString(b64.EncodeToString(b))
		sb.WriteByte('-')
		run = run[:0]
	}
	for _, r := range name {
		if r >= 0x20 && r <= 0x7e {
			flush()
			sb.WriteRune(r)
			if r == '&' {
				sb.WriteByte('-')
			}
			continue
		}
		run = append(run, r)
	}
	flush()
	return sb.String()
}

var errBadMailboxName = errors.New("mailbox name is not valid modified UTF-7")

// DecodeMailbox turns a mailbox name as the client sent it into UTF-8,
// with INBOX in any case made "INBOX" (RFC 9051 §5.1).
func DecodeMailbox(wire string, utf8Mode bool) (string, error) {
	name := wire
	if utf8Mode {
		if !utf8.ValidString(wire) {
			return "", errors.New("mailbox name is not valid UTF-8")
		}
	} else {
		var err error
		if name, err = decodeUTF7(wire); err != nil {
			return "", err
		}
	}
	if strings.EqualFold(name, "INBOX") {
		return "INBOX", nil
	}
	return name, nil
}

func decodeUTF7(s string) (string, error) {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			return "", errBadMailboxName
		}
		if c != '&' {
			sb.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return "", errBadMailboxName
		}
		enc := s[i+1 : i+1+end]
		i += end + 1
		if enc == "" {
			sb.WriteByte('&')
			continue
		}
		b, err := b64.DecodeString(enc)
		if err != nil || len(b)%2 != 0 {
			return "", errBadMailboxName
		}
		u := make([]uint16, len(b)/2)
		for j := range u {
			u[j] = uint16(b[2*j])<<8 | uint16(b[2*j+1])
		}
		for _, r := range utf16.Decode(u) {
			// Printable ASCII must not be encoded, nor broken surrogates.
			if (r >= 0x20 && r <= 0x7e) || r == utf8.RuneError {
				return "", errBadMailboxName
			}
			sb.WriteRune(r)
		}
	}
	return sb.String(), nil
}
