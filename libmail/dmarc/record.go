package dmarc

import (
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"

	msgdmarc "github.com/emersion/go-msgauth/dmarc"
)

// errBadPolicy says that a record's p= is missing or invalid, or its sp=
// invalid, and no rua= lets it stand as p=none (RFC 7489 §6.6.3 step 6).
var errBadPolicy = errors.New("no valid p= (or an invalid sp=) and no valid rua=")

// isRecord reports whether a TXT record is a DMARC record: RFC 7489
// §6.6.3 discards those "that do not start with a "v=" tag that
// identifies the current version of DMARC", v=DMARC1 (§6.3; the value is
// case-sensitive in the ABNF of §6.4, the tag name is not). Leading white
// space is forgiven: a receiver that ignored such a record would let a
// domain's policy be dodged by a publishing slip.
func isRecord(txt string) bool {
	first, _, _ := strings.Cut(txt, ";")
	k, v, ok := strings.Cut(first, "=")
	return ok && strings.EqualFold(strings.TrimSpace(k), "v") && strings.TrimSpace(v) == "DMARC1"
}

// parseRecord parses a DMARC record (isRecord is true of it) with
// go-msgauth's parser, after putting it in the shape that parser takes,
// which is stricter than RFC 7489 asks a receiver to be:
//
//   - Tag names are matched without regard to case, as are the keyword
//     values of p=, sp=, adkim=, aspf=, fo= and rf= (ABNF strings are
//     case-insensitive, RFC 5234 §2.3).
//   - An invalid value of an optional tag (adkim, aspf, pct, fo, rf, ri)
//     is dropped so that its default applies: "syntax errors in the
//     remainder of the record SHOULD be discarded in favor of default
//     values" (RFC 7489 §6.3). Unknown tags are ignored (§6.3).
//   - A missing or invalid p=, or an invalid sp=, makes the record count
//     as "v=DMARC1; p=none" if it has at least one syntactically valid
//     rua= URI, and makes it unusable otherwise (§6.6.3 step 6): then
//     parseRecord returns errBadPolicy.
//
// Any other error is go-msgauth refusing what this cleaning let through,
// which FuzzRecord checks never happens.
func parseRecord(txt string) (*msgdmarc.Record, error) {
	tags := []string{"v=DMARC1"}
	badPolicy, hasP, rua := false, false, false
	for _, part := range strings.Split(txt, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			continue // empty, or no tag: a syntax error, ignored
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		switch k {
		case "p", "sp":
			v = strings.ToLower(v)
			if !isPolicy(v) {
				badPolicy = true
				continue
			}
			hasP = hasP || k == "p"
		case "adkim", "aspf":
			v = strings.ToLower(v)
			if v != "r" && v != "s" {
				continue
			}
		case "pct":
			// RFC 7489 §6.4: dmarc-percent = "pct" *WSP "=" *WSP 1*3DIGIT,
			// an integer from 0 to 100.
			if n, err := strconv.Atoi(v); err != nil || !allDigits(v) || n > 100 {
				continue
			}
		case "ri":
			if n, err := strconv.ParseUint(v, 10, 31); err != nil || !allDigits(v) || n == 0 {
				continue
			}
		case "fo":
			if v, ok = list(v, "0", "1", "d", "s"); !ok {
				continue
			}
		case "rf":
			if v, ok = list(v, "afrf"); !ok {
				continue
			}
		case "rua":
			rua = rua || hasURI(v)
		case "ruf":
		default:
			continue // v= (written first above) and unknown tags
		}
		tags = append(tags, k+"="+v)
	}
	if badPolicy || !hasP {
		if !rua {
			return nil, errBadPolicy
		}
		keep := []string{"v=DMARC1", "p=none"}
		for _, t := range tags[1:] {
			if !strings.HasPrefix(t, "p=") && !strings.HasPrefix(t, "sp=") {
				keep = append(keep, t)
			}
		}
		tags = keep
	}
	return msgdmarc.Parse(strings.Join(tags, "; "))
}

func isPolicy(s string) bool { return s == "none" || s == "quarantine" || s == "reject" }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// list checks a colon-separated list of the words allowed (fo=, rf=;
// RFC 7489 §6.4), with white space around each and in any case, and
// returns it without the white space, in lower case.
func list(s string, allowed ...string) (string, bool) {
	words := strings.Split(strings.ToLower(s), ":")
	for i, w := range words {
		w = strings.TrimSpace(w)
		if !slices.Contains(allowed, w) {
			return "", false
		}
		words[i] = w
	}
	return strings.Join(words, ":"), true
}

// hasURI reports whether a rua= value holds at least one syntactically
// valid dmarc-uri (RFC 7489 §6.4): an absolute URI, optionally followed
// by "!" and a size limit.
func hasURI(v string) bool {
	for _, u := range strings.Split(v, ",") {
		u = strings.TrimSpace(u)
		if i := strings.LastIndexByte(u, '!'); i >= 0 {
			u = u[:i]
		}
		if p, err := url.Parse(u); err == nil && p.Scheme != "" && p.Opaque+p.Host+p.Path != "" {
			return true
		}
	}
	return false
}
