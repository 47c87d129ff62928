package authres

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	msgauth "github.com/emersion/go-msgauth/authres"
)

// Name is the header field's name (RFC 8601 §2.2).
const Name = "Authentication-Results"

// SPF is the result of an SPF check (RFC 7208; RFC 8601 §2.7.2).
type SPF struct {
	// Result is none, neutral, pass, fail, softfail, temperror or
	// permerror (RFC 7208 §2.6).
	Result msgauth.ResultValue
	// MailFrom is the RFC5321.MailFrom address checked, Helo the HELO
	// identity checked; "" for one not checked. Only the domain of
	// MailFrom is written (see pvalue).
	MailFrom, Helo string
	// Comment is free text for the reader, written as a comment.
	Comment string
}

// DKIM is the result of verifying one DKIM signature (RFC 6376; RFC 8601
// §2.7.1). A message without a signature gets one DKIM with Result none
// and nothing else.
type DKIM struct {
	// Result is none, pass, fail, policy, neutral, temperror or
	// permerror.
	Result msgauth.ResultValue
	// Domain, Identifier, Selector and Algorithm are the signature's d=,
	// i=, s= and a=; "" for one not known.
	Domain, Identifier, Selector, Algorithm string
	// Signature is its b=, of which the first eight characters are
	// written (header.b, RFC 6008), to tell two signatures of one d= apart
	// (postern signs with RSA and Ed25519 at once).
	Signature string
	// Comment is free text for the reader, written as a comment.
	Comment string
}

// DMARC is the result of DMARC evaluation (RFC 7489 §11.2).
type DMARC struct {
	// Result is none, pass, fail, temperror or permerror.
	Result msgauth.ResultValue
	// From is the RFC5322.From domain judged (header.from).
	From string
	// Policy is the published policy that applied, p= or sp=
	// (polrec.p), "" when no record applied; PolicyDomain the domain
	// whose record it is, written (polrec.domain) when it is not From.
	Policy, PolicyDomain string
	// Disposition is what was done with the message: none, quarantine or
	// reject. With Policy, it is written as the comment
	// "(p=reject dis=quarantine)" that large receivers write and readers
	// look for.
	Disposition string
}

// Results are the checks of one message, written in this order; a nil
// or empty one is left out.
type Results struct {
	SPF   *SPF
	DKIM  []DKIM
	DMARC *DMARC
}

// Errors of Value and Field.
var (
	ErrID     = errors.New("authserv-id is not a token (RFC 8601 §2.2, RFC 2045 §5.1)")
	ErrResult = errors.New("result value not defined for the method (RFC 8601 §2.7)")
)

// Result values by method (RFC 8601 §2.7.1 dkim, §2.7.2 spf; RFC 7489
// §11.2 dmarc).
var values = map[string][]msgauth.ResultValue{
	"spf":   {msgauth.ResultNone, msgauth.ResultNeutral, msgauth.ResultPass, msgauth.ResultFail, msgauth.ResultSoftFail, msgauth.ResultTempError, msgauth.ResultPermError},
	"dkim":  {msgauth.ResultNone, msgauth.ResultPass, msgauth.ResultFail, msgauth.ResultPolicy, msgauth.ResultNeutral, msgauth.ResultTempError, msgauth.ResultPermError},
	"dmarc": {msgauth.ResultNone, msgauth.ResultPass, msgauth.ResultFail, msgauth.ResultTempError, msgauth.ResultPermError},
}

// CheckID checks that id can be an authserv-id as postern writes it: an
// RFC 2045 token (RFC 8601 §2.2 allows a quoted-string too, which
// go-msgauth's parser, and many others, do not take). A host name is one.
func CheckID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty", ErrID)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c >= 0x7f || strings.IndexByte(tspecials, c) >= 0 {
			return fmt.Errorf("%w: %q", ErrID, id)
		}
	}
	return nil
}

// tspecials are RFC 2045 §5.1's, which a token may not hold.
const tspecials = `()<>@,;:\"/[]?=`

// Value returns the body of an Authentication-Results field for res,
// added by authservID (normally myhostname), on one line:
//
//	mx.example.net; spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.com ...; dmarc=pass (p=reject dis=none) header.from=example.com
//
// Each result is formatted by go-msgauth's authres.Format. Every value
// written is one that go-msgauth's authres.Parse reads back as it was,
// and Python's email package reads it too: a value that would need
// quoting is shortened or left out (see pvalue), comments hold no ";"
// and no "=" but their own. It fails only for an authserv-id that is no
// token (CheckID) or a result value the method does not define.
func Value(authservID string, res Results) (string, error) {
	parts, err := format(authservID, res)
	if err != nil {
		return "", err
	}
	return strings.Join(parts, "; "), nil
}

// Field returns the whole header field, name to CRLF, each result on a
// line of its own and lines folded before 78 characters where they can
// be (RFC 5322 §2.1.1), ready for intake's Prepend.
func Field(authservID string, res Results) ([]byte, error) {
	parts, err := format(authservID, res)
	if err != nil {
		return nil, err
	}
	b := []byte(Name + ": " + parts[0])
	if len(parts) == 1 {
		return append(b, "; none\r\n"...), nil // RFC 8601 §2.2: no-result
	}
	for i, p := range parts[1:] {
		b = append(b, ";\r\n\t"...)
		b = fold(b, p, 1)
		if i == len(parts)-2 {
			b = append(b, "\r\n"...)
		}
	}
	return b, nil
}

// fold appends s to b, breaking it at spaces into lines of at most 78
// characters where it can; the line it starts on already holds col.
func fold(b []byte, s string, col int) []byte {
	for i, w := range strings.Split(s, " ") {
		if i > 0 {
			if col+1+len(w) > 78 {
				b = append(b, "\r\n\t"...)
				col = 1
			} else {
				b = append(b, ' ')
				col++
			}
		}
		b = append(b, w...)
		col += len(w)
	}
	return b
}

// format returns the authserv-id and each result formatted.
func format(authservID string, res Results) ([]string, error) {
	if err := CheckID(authservID); err != nil {
		return nil, err
	}
	parts := []string{authservID}
	add := func(method string, value msgauth.ResultValue, params map[string]string, comment string) error {
		if !slices.Contains(values[method], value) {
			return fmt.Errorf("%w: %s=%q", ErrResult, method, value)
		}
		// Format writes "id; method=value params": one result each time,
		// so that the comment goes in after its method and value.
		s := msgauth.Format("", []msgauth.Result{&msgauth.GenericResult{Method: method, Value: value, Params: params}})
		s = strings.TrimSpace(strings.TrimPrefix(s, ";"))
		if comment != "" {
			head := method + "=" + string(value)
			s = head + " (" + comment + ")" + strings.TrimPrefix(s, head)
		}
		parts = append(parts, s)
		return nil
	}
	if r := res.SPF; r != nil {
		err := add("spf", r.Result, map[string]string{
			"smtp.mailfrom": mailDomain(r.MailFrom),
			"smtp.helo":     hostName(r.Helo),
		}, comment(r.Comment))
		if err != nil {
			return nil, err
		}
	}
	for _, r := range res.DKIM {
		err := add("dkim", r.Result, map[string]string{
			"header.d": hostName(r.Domain),
			"header.i": identity(r.Identifier),
			"header.s": word(r.Selector, "-_."),
			"header.a": word(strings.ToLower(r.Algorithm), "-"),
			"header.b": sigPrefix(r.Signature),
		}, comment(r.Comment))
		if err != nil {
			return nil, err
		}
	}
	if r := res.DMARC; r != nil {
		from := hostName(r.From)
		p, at := word(strings.ToLower(r.Policy), ""), hostName(r.PolicyDomain)
		if at == from {
			at = ""
		}
		var c []string
		if p != "" {
			c = append(c, "p="+p)
		}
		if dis := word(strings.ToLower(r.Disposition), ""); dis != "" {
			c = append(c, "dis="+dis)
		}
		err := add("dmarc", r.Result, map[string]string{
			"header.from":   from,
			"polrec.p":      p,
			"polrec.domain": at,
		}, strings.Join(c, " "))
		if err != nil {
			return nil, err
		}
	}
	return parts, nil
}
