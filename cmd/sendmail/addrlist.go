package main

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"postern.dev/postern/libmail/address"
)

// parseList reads the addresses of an address list: a recipient
// argument ("bob, carol@example.org") or a To:, Cc: or Bcc: field body.
// Display names, comments, angle brackets and groups are understood;
// addresses without a domain are kept so (pickup appends @$myorigin).
// An address that is not one is an error (EX_DATAERR).
func parseList(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []string
	if list, err := mail.ParseAddressList(s); err == nil {
		for _, a := range list {
			out = append(out, a.Address)
		}
	} else {
		// net/mail wants a domain everywhere; local mail has bare names.
		for _, item := range splitList(s) {
			if strings.Contains(stripComments(item), "<>") {
				return nil, fmt.Errorf("%w: <> is no recipient", errBadAddress)
			}
			if a := bareAddress(item); a != "" {
				out = append(out, a)
			}
		}
	}
	for _, a := range out {
		if err := checkRecipient(a); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// splitList cuts an address list at the commas outside quotes, angle
// brackets and comments.
func splitList(s string) []string {
	var items []string
	depth, quoted, angle, start := 0, false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && (quoted || depth > 0):
			i++
		case c == '"' && depth == 0:
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case (c == ',' || c == ';') && !angle:
			items = append(items, s[start:i])
			start = i + 1
		}
	}
	return append(items, s[start:])
}

// bareAddress is the address in one list item: the part in angle
// brackets if there is one, else the item without comments, and without
// a group's "name:" in front.
func bareAddress(item string) string {
	item = stripComments(item)
	if i := strings.IndexByte(item, '<'); i >= 0 {
		if j := strings.LastIndexByte(item, '>'); j > i {
			return strings.TrimSpace(item[i+1 : j])
		}
	}
	if i := strings.IndexByte(item, ':'); i >= 0 && !strings.ContainsAny(item[:i], "\"@") {
		item = item[i+1:]
	}
	return strings.TrimSpace(item)
}

// stripComments removes RFC 5322 comments outside quoted strings.
func stripComments(s string) string {
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (quoted || depth > 0):
			if depth == 0 {
				b.WriteByte(c)
				b.WriteByte(s[i+1])
			}
			i++
			continue
		case c == '"' && depth == 0:
			quoted = !quoted
		case !quoted && c == '(':
			depth++
			continue
		case !quoted && c == ')' && depth > 0:
			depth--
			continue
		}
		if depth == 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}

var errBadAddress = errors.New("bad address syntax")

// checkRecipient checks one address as given: with a domain, as any
// envelope address; without, as a local part.
func checkRecipient(a string) error {
	if strings.Contains(a, "@") {
		if err := address.Check(a, true); err != nil {
			return fmt.Errorf("%w: <%s>: %v", errBadAddress, a, err)
		}
		return nil
	}
	if err := address.Check(a+"@localhost", true); err != nil || strings.ContainsAny(unquotedPart(a), " \t<>()[],;:\\") {
		return fmt.Errorf("%w: <%s>", errBadAddress, a)
	}
	return nil
}

// unquotedPart is a local part with its quoted strings left out, where
// specials are allowed.
func unquotedPart(s string) string {
	var b strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case !quoted:
			b.WriteByte(c)
		}
	}
	return b.String()
}
