package esmtp

import (
	"strconv"
	"strings"
)

// Extensions are what a server announced in its EHLO reply (RFC 5321
// §4.1.1.1), as far as the client uses them.
type Extensions struct {
	Pipelining   bool  // RFC 2920
	Size         bool  // RFC 1870
	SizeLimit    int64 // the SIZE argument; 0: none announced
	EightBitMIME bool  // RFC 6152
	SMTPUTF8     bool  // RFC 6531
	DSN          bool  // RFC 3461
	StartTLS     bool  // RFC 3207
	Enhanced     bool  // ENHANCEDSTATUSCODES, RFC 2034
	// Auth lists the SASL mechanisms of AUTH (RFC 4954 §3), upper case,
	// separated by single spaces; "" when none were announced. Old
	// servers' "AUTH=LOGIN PLAIN" lines (for clients that predate the
	// RFC) count too, as Postfix reads them.
	Auth string
}

// ParseExtensions reads the keywords of an EHLO reply: its lines after
// the first, which greets.
func ParseExtensions(r *Reply) Extensions {
	var x Extensions
	_, rest, more := strings.Cut(r.Text, "\n")
	for more {
		var line string
		line, rest, more = strings.Cut(rest, "\n")
		kw, arg, _ := strings.Cut(line, " ")
		kw = strings.ToUpper(kw)
		if rest, ok := strings.CutPrefix(kw, "AUTH="); ok {
			kw, arg = "AUTH", rest+" "+arg
		}
		switch kw {
		case "PIPELINING":
			x.Pipelining = true
		case "SIZE":
			x.Size = true
			if n, err := strconv.ParseInt(strings.TrimSpace(arg), 10, 64); err == nil && n > 0 {
				x.SizeLimit = n
			}
		case "8BITMIME":
			x.EightBitMIME = true
		case "SMTPUTF8":
			x.SMTPUTF8 = true
		case "DSN":
			x.DSN = true
		case "STARTTLS":
			x.StartTLS = true
		case "ENHANCEDSTATUSCODES":
			x.Enhanced = true
		case "AUTH":
			x.Auth = addMechanisms(x.Auth, arg)
		}
	}
	return x
}

// addMechanisms adds the mechanism names in arg to list, upper-cased,
// each once.
func addMechanisms(list, arg string) string {
	for _, m := range strings.Fields(strings.ToUpper(arg)) {
		if !hasWord(list, m) {
			list = strings.TrimPrefix(list+" "+m, " ")
		}
	}
	return list
}

// OffersAuth reports whether the server announced the SASL mechanism
// mech (in upper case).
func (x Extensions) OffersAuth(mech string) bool { return hasWord(x.Auth, mech) }

func hasWord(list, w string) bool {
	for _, m := range strings.Fields(list) {
		if m == w {
			return true
		}
	}
	return false
}
