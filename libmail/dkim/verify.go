package dkim

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"sync"

	"github.com/emersion/go-msgauth/authres"
	msgauth "github.com/emersion/go-msgauth/dkim"

	"postern.dev/postern/libmail/dns"
)

// MaxSignatures is how many DKIM-Signature fields of a message are
// verified, from the top; the rest are ignored (RFC 6376 §6.1: a verifier
// may limit the signatures it tries, as each costs a DNS query and a
// pass over the body).
const MaxSignatures = 5

// TXTResolver looks up the key records; dns.Resolver is one.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Result is the outcome of verifying one DKIM-Signature field, in the
// terms of Authentication-Results (RFC 8601 §2.7.1) and DMARC (RFC 7489
// §3.1.1, which needs Domain).
type Result struct {
	// Status is pass; fail (the body hash or the signature does not
	// match); temperror (the key could not be fetched now: a DNS
	// timeout or server failure); permerror (no key, a revoked or
	// unusable key, a malformed or unsupported signature, From: not
	// signed, an expired signature); or neutral, for a signature that
	// was not verified at all.
	Status authres.ResultValue
	// Domain is the signing domain, d= (the SDID), lower case; "" when
	// the field has none.
	Domain string
	// Selector is s=.
	Selector string
	// Identifier is i= (the AUID), or "@" and Domain without one.
	Identifier string
	// Algorithm is a=, as written: rsa-sha256, ed25519-sha256, ...
	Algorithm string
	// HeaderB is the start of b=, enough to tell two signatures of one
	// domain apart in Authentication-Results (header.b, RFC 6008).
	HeaderB string
	// Reason says why a signature did not pass; "" when it did.
	Reason string
}

// AuthResult is r as go-msgauth's authres formats it into an
// Authentication-Results field: dkim=pass header.d=... header.i=...
func (r *Result) AuthResult() *authres.DKIMResult {
	return &authres.DKIMResult{Value: r.Status, Reason: r.Reason, Domain: r.Domain, Identifier: r.Identifier}
}

// Verifier verifies the DKIM signatures of one message as intake takes it
// in (it is an intake.Tap), without reading the spooled message again.
// It holds the header until its end, when the signatures are known. A
// message without DKIM-Signature fields costs nothing more; one with some
// is passed on to go-msgauth's verifier (github.com/emersion/go-msgauth/
// dkim), which reads it in a goroutine through a pipe, looks up the keys
// (SELECTOR._domainkey.DOMAIN TXT, through the resolver, with ctx) once
// it has the header and hashes the body incrementally as it streams by.
// While a key lookup is in progress the stream waits for it (the
// client's bytes wait in the socket meanwhile), so ctx must bound it.
//
// One of End or Abort must be called.
type Verifier struct {
	ctx context.Context
	r   TXTResolver

	header [][]byte // copies of the fields, until HeaderEnd
	sigs   []sigTags
	pw     *io.PipeWriter
	w      *bufio.Writer
	done   chan struct{}
	ended  bool

	mu      sync.Mutex // guards verifs and err, written by the goroutine
	verifs  []*msgauth.Verification
	err     error
	results []Result
}

// NewVerifier returns a Verifier for one message whose key lookups go to
// r with ctx.
func NewVerifier(ctx context.Context, r TXTResolver) *Verifier {
	return &Verifier{ctx: ctx, r: r}
}

// sigTags are the tags of a DKIM-Signature field that go-msgauth does not
// report back.
type sigTags struct {
	domain, selector, identifier, algorithm, b string
}

// Header implements intake.Tap.
func (v *Verifier) Header(field []byte) {
	if fieldName(field) == "dkim-signature" && len(v.sigs) < MaxSignatures {
		v.sigs = append(v.sigs, parseTags(fieldValue(field)))
	}
	v.header = append(v.header, append([]byte(nil), field...))
}

// HeaderEnd implements intake.Tap: with signatures, verification starts.
func (v *Verifier) HeaderEnd() {
	header := v.header
	v.header = nil
	if len(v.sigs) == 0 {
		return
	}
	pr, pw := io.Pipe()
	v.pw, v.done = pw, make(chan struct{})
	go v.run(pr)
	v.w = bufio.NewWriterSize(pw, streamBuffer)
	for _, f := range header {
		v.w.Write(f)
		if len(f) < 2 || f[len(f)-2] != '\r' || f[len(f)-1] != '\n' {
			v.w.Write(crlf)
		}
	}
	v.w.Write(crlf)
}

// run is go-msgauth's side of the pipe.
func (v *Verifier) run(pr *io.PipeReader) {
	defer close(v.done)
	verifs, err := msgauth.VerifyWithOptions(pr, &msgauth.VerifyOptions{LookupTXT: v.lookup, MaxVerifications: MaxSignatures})
	// go-msgauth may stop reading early (a signature it cannot use needs
	// no body): what is still written must not block the stream.
	io.Copy(io.Discard, pr)
	v.mu.Lock()
	v.verifs, v.err = verifs, err
	v.mu.Unlock()
}

// lookup is go-msgauth's LookupTXT on our resolver. A failure to get an
// answer (timeout, SERVFAIL) becomes go-msgauth's temporary error, which
// it reports as temperror (RFC 6376 §6.1.2: "TEMPFAIL (key unavailable)");
// a name without the record is permerror ("no key for signature").
func (v *Verifier) lookup(name string) ([]string, error) {
	txt, err := v.r.LookupTXT(v.ctx, name)
	if err != nil && dns.IsTemporary(err) {
		return nil, temporary{err}
	}
	return txt, err
}

// temporary is a lookup error that go-msgauth takes for a temporary one:
// it asks for a net.Error whose Temporary() is true.
type temporary struct{ error }

func (temporary) Timeout() bool   { return false }
func (temporary) Temporary() bool { return true }

// Body implements intake.Tap.
func (v *Verifier) Body(p []byte) {
	if v.w != nil && !v.ended {
		v.w.Write(p) // a pipe error (Abort) is seen by the reader
	}
}

// End implements intake.Tap: it waits for the verification to finish and
// makes the results.
func (v *Verifier) End() {
	if v.ended {
		return
	}
	v.ended = true
	if v.pw == nil {
		return
	}
	if err := v.w.Flush(); err != nil {
		v.pw.CloseWithError(err)
	} else {
		v.pw.Close()
	}
	<-v.done
	v.mu.Lock()
	verifs, err := v.verifs, v.err
	v.mu.Unlock()
	v.results = make([]Result, 0, len(v.sigs))
	for i, t := range v.sigs {
		r := Result{Domain: t.domain, Selector: t.selector, Identifier: t.identifier, Algorithm: t.algorithm, HeaderB: t.b}
		switch {
		case i < len(verifs) && verifs[i] != nil:
			r.Status, r.Reason = status(verifs[i].Err)
			if verifs[i].Domain != "" {
				r.Domain = strings.ToLower(verifs[i].Domain)
			}
			if verifs[i].Identifier != "" {
				r.Identifier = verifs[i].Identifier
			}
		case err != nil && !errors.Is(err, msgauth.ErrTooManySignatures):
			// go-msgauth could not read the message at all.
			r.Status, r.Reason = authres.ResultTempError, reason(err)
		default:
			r.Status, r.Reason = authres.ResultNeutral, "not verified"
		}
		if r.Identifier == "" && r.Domain != "" {
			r.Identifier = "@" + r.Domain
		}
		v.results = append(v.results, r)
	}
}

// Abort ends the verification of a message that will not be stored.
func (v *Verifier) Abort() {
	if v.ended {
		return
	}
	v.ended = true
	if v.pw != nil {
		v.pw.CloseWithError(errAborted)
	}
}

// Results returns one Result per DKIM-Signature field verified, top to
// bottom, after End; none for a message without signatures (dkim=none).
func (v *Verifier) Results() []Result { return v.results }

// status maps go-msgauth's verdict to RFC 8601's result.
func status(err error) (authres.ResultValue, string) {
	switch {
	case err == nil:
		return authres.ResultPass, ""
	case msgauth.IsTempFail(err):
		return authres.ResultTempError, reason(err)
	case msgauth.IsPermFail(err):
		return authres.ResultPermError, reason(err)
	}
	// The body hash or the signature does not match, or the signature
	// has l= (go-msgauth refuses to let a signature cover part of a body).
	return authres.ResultFail, reason(err)
}

func reason(err error) string { return strings.TrimPrefix(err.Error(), "dkim: ") }

// parseTags reads the tags of a DKIM-Signature (RFC 6376 §3.2 tag-list)
// that a Result reports.
func parseTags(value string) sigTags {
	var t sigTags
	for _, spec := range strings.Split(value, ";") {
		name, val, found := strings.Cut(spec, "=")
		if !found {
			continue
		}
		name = strings.TrimSpace(name)
		val = stripFWS(val)
		switch name {
		case "d":
			t.domain = strings.ToLower(val)
		case "s":
			t.selector = val
		case "i":
			t.identifier = val
		case "a":
			t.algorithm = strings.ToLower(val)
		case "b":
			// RFC 6008 §4: at least the first 8 characters; 12 make a
			// collision between two signatures of a message unlikely.
			t.b = val[:min(len(val), 12)]
		}
	}
	return t
}

// stripFWS removes the folding whitespace a tag value may hold (RFC 6376
// §3.2).
func stripFWS(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
}
