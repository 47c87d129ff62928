package dkim

import (
	"bytes"
	"net/mail"
	"strings"
)

// signedFields are the header fields a signature covers when the message
// has them: RFC 6376 §5.4.1's list (the originator and recipient fields,
// the subject and date, the message's identity and the fields that thread
// it, the list fields) and the MIME fields that say how the body is read
// (RFC 2045), without which a signed body could be shown as something else.
// Trace and transport fields (Received:, Return-Path:), which change in
// transit, are not signed.
var signedFields = []string{
	"from", "sender", "reply-to", "subject", "date", "message-id", "to", "cc",
	"mime-version", "content-type", "content-transfer-encoding", "content-disposition", "content-language",
	"in-reply-to", "references",
	"resent-date", "resent-from", "resent-sender", "resent-to", "resent-cc", "resent-message-id",
	"list-id", "list-help", "list-unsubscribe", "list-unsubscribe-post", "list-subscribe", "list-post", "list-owner", "list-archive",
}

// oversigned are named in h= once more than the message has them, so that
// a field of that name added later breaks the signature (RFC 6376 §8.15:
// "the signer [...] can include in "h=" [...] one more instance than
// actually appear"): From:, whose domain the signature stands for, so no
// second From: can be slipped in above the signed one.
var oversigned = map[string]bool{"from": true}

// fieldName is the name of a raw header field, lower case.
func fieldName(field []byte) string {
	name, _, _ := bytes.Cut(field, []byte(":"))
	return strings.ToLower(string(bytes.TrimRight(name, " \t")))
}

// fieldValue is a raw field's body, unfolded (RFC 5322 §2.2.3).
func fieldValue(field []byte) string {
	_, v, _ := bytes.Cut(field, []byte(":"))
	v = bytes.ReplaceAll(v, []byte("\r\n"), nil)
	return strings.TrimSpace(string(v))
}

// headerKeys is the h= list for a header (the raw fields): each name of
// signedFields as often as the header has it, From: once more. The
// verifier takes the fields of a name from the bottom up (RFC 6376
// §5.4.2), as many as h= names it.
func headerKeys(header [][]byte) []string {
	count := map[string]int{}
	for _, f := range header {
		count[fieldName(f)]++
	}
	var keys []string
	for _, name := range signedFields {
		n := count[name]
		if oversigned[name] {
			n++
		}
		for range n {
			keys = append(keys, name)
		}
	}
	return keys
}

// authorDomains are the domains of the From: addresses (RFC 5322 §3.6.2),
// in A-labels, each once: the domains a signature may stand for as the
// author's. A From: that net/mail cannot parse (an unknown charset in an
// encoded display name, say) still has its address found: the last
// angle-bracketed address, or the text after its last "@".
func authorDomains(header [][]byte) []string {
	var out []string
	seen := map[string]bool{}
	add := func(addr string) {
		at := strings.LastIndexByte(addr, '@')
		if at < 0 {
			return
		}
		d := addr[at+1:]
		if end := strings.IndexAny(d, " \t(),;<>\""); end >= 0 {
			d = d[:end]
		}
		d, err := Domain(d)
		if err != nil || seen[d] {
			return
		}
		seen[d] = true
		out = append(out, d)
	}
	for _, f := range header {
		if fieldName(f) != "from" {
			continue
		}
		v := fieldValue(f)
		if list, err := mail.ParseAddressList(v); err == nil {
			for _, a := range list {
				add(a.Address)
			}
			continue
		}
		if i := strings.LastIndexByte(v, '<'); i >= 0 {
			v = v[i+1:]
			if j := strings.IndexByte(v, '>'); j >= 0 {
				v = v[:j]
			}
		}
		add(strings.TrimSpace(v))
	}
	return out
}
