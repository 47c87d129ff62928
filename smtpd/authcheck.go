package smtpd

import (
	"bytes"
	"context"
	"math/rand/v2"
	"strings"
	"sync"

	msgauth "github.com/emersion/go-msgauth/authres"

	"postern.dev/postern/libmail/authres"
	"postern.dev/postern/libmail/dkim"
	"postern.dev/postern/libmail/dmarc"
	"postern.dev/postern/libmail/dns"
	"postern.dev/postern/libmail/intake"
	"postern.dev/postern/libmail/spf"
)

// Message authentication on receipt (smtpd_sender_authentication): for a
// client that is neither authenticated nor in mynetworks, SPF is checked
// at MAIL FROM, the DKIM signatures as the message streams in (a tap on
// intake), and DMARC at the end of the message, when both are known. The
// results go into one Authentication-Results: field on top of the message
// (Prepend, in the same commit), and a failed DMARC policy is acted on:
// 550 5.7.1, the recipients' Junk folders, or nothing, as
// dmarc_reject_action and dmarc_quarantine_action say. Every lookup runs
// under the session's context; a DNS failure is temperror, which refuses
// and quarantines nothing.
//
// Whatever the client, an incoming Authentication-Results: field that
// claims authentication_results_id is not stored (RFC 8601 §5): only this
// server may write one.

// authChecker is what the checks need besides the configuration.
type authChecker struct {
	res     dns.Resolver
	spf     *spf.Checker
	sampler *lockedSampler
}

// UseAuthentication gives the server the resolver its SPF, DKIM and
// DMARC checks ask; without one (tests of other things) no message is
// checked. Call it before Serve.
func (s *Server) UseAuthentication(r dns.Resolver, seed uint64) {
	s.auth = &authChecker{res: r, spf: &spf.Checker{Resolver: r, Receiver: s.cfg.Hostname, Now: s.now},
		sampler: &lockedSampler{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}}
}

// lockedSampler is a pct= sampler shared by every session.
type lockedSampler struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (l *lockedSampler) IntN(n int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.IntN(n)
}

// txAuth is what a transaction's checks found so far.
type txAuth struct {
	spf     spf.Result
	dkim    *dkim.Verifier
	authors *authorTap
}

// checks reports whether the session's mail is checked: not for
// authenticated clients, whose mail postern signs, nor for mynetworks.
func (c *conn) checks() bool {
	return c.srv.auth != nil && c.srv.cfg.SenderAuthentication && c.authUser == "" && !c.srv.cfg.trusted(c.client.addr())
}

// checkSPF runs SPF for a new transaction's MAIL FROM (a null sender is
// checked as postmaster@ the HELO name, RFC 7208 §2.4).
func (c *conn) checkSPF(ctx context.Context, tx *transaction) {
	if !c.checks() {
		return
	}
	tx.auth = &txAuth{spf: c.srv.auth.spf.MailFrom(ctx, c.client.addr(), c.helo, tx.from)}
}

// authSource sets up the taps and the field filter of a message: the DKIM
// verifier and the From: collector when its transaction is checked, and
// the removal of forged Authentication-Results: fields always.
func (c *conn) authSource(ctx context.Context, tx *transaction, src *intake.Source) {
	id := c.srv.cfg.AuthServID
	src.Drop = func(name, field []byte) bool {
		return bytes.EqualFold(name, []byte("Authentication-Results")) && authres.Claims(field, id)
	}
	if tx.auth == nil {
		return
	}
	tx.auth.dkim = dkim.NewVerifier(ctx, c.srv.auth.res)
	tx.auth.authors = &authorTap{}
	src.Taps = append(src.Taps, tx.auth.dkim, tx.auth.authors)
}

// authenticate judges a message that has come in whole (w.End passed):
// DMARC on the SPF and DKIM results, the Authentication-Results: field
// prepended, and the action for a failed policy. It returns the refusal
// for a message to reject, after which the caller aborts it.
func (c *conn) authenticate(ctx context.Context, tx *transaction, w *intake.Writer) *Reply {
	a := tx.auth
	if a == nil {
		return nil
	}
	res := authres.Results{SPF: &authres.SPF{Result: msgauth.ResultValue(a.spf.Verdict)}}
	if a.spf.Identity == spf.Helo {
		res.SPF.Helo = a.spf.Domain
	} else {
		res.SPF.MailFrom = a.spf.Sender
	}
	in := dmarc.Input{From: dmarc.AuthorDomains(a.authors.fields), SPF: res.SPF.Result, SPFDomain: a.spf.Domain}
	for _, r := range a.dkim.Results() {
		res.DKIM = append(res.DKIM, authres.DKIM{Result: r.Status, Domain: r.Domain, Identifier: r.Identifier,
			Selector: r.Selector, Algorithm: r.Algorithm, Signature: r.HeaderB, Comment: r.Reason})
		in.DKIM = append(in.DKIM, dmarc.DKIM{Domain: r.Domain, Result: r.Status})
	}
	if len(res.DKIM) == 0 {
		res.DKIM = []authres.DKIM{{Result: msgauth.ResultNone}}
	}
	d := dmarc.Evaluate(ctx, c.srv.auth.res, in, c.srv.auth.sampler)
	action := c.dmarcAction(d.Policy)
	res.DMARC = &authres.DMARC{Result: msgauth.ResultValue(d.Verdict), From: d.Domain, Policy: string(d.Published),
		PolicyDomain: d.RecordDomain, Disposition: action}
	if d.Verdict == dmarc.None && d.Domain == "" {
		res.DMARC = nil // no From: domain to judge
	}
	field, err := authres.Field(c.srv.cfg.AuthServID, res)
	if err != nil {
		c.srv.log.Error("%s: Authentication-Results: %v", tx.id, err)
		return replyWriteError
	}
	c.srv.log.Info("%s: authentication-results=%s", tx.id, unfold(field))
	switch action {
	case "reject":
		return reply(550, "5.7.1", "Message rejected: %s", printable(d.Reason))
	case "quarantine":
		if err := w.Quarantine("dmarc=" + string(d.Verdict) + " (p=" + string(d.Published) + ") header.from=" + d.Domain); err != nil {
			c.srv.log.Error("%s: %v", tx.id, err)
			return replyWriteError
		}
	}
	if err := w.Prepend(string(field)); err != nil {
		c.srv.log.Error("%s: Authentication-Results: %v", tx.id, err)
		return replyWriteError
	}
	return nil
}

// unfold gives the body of a header field on one line, for the log: the
// field is formatted once, for the message, and the log shows what the
// message got.
func unfold(field []byte) string {
	_, body, _ := bytes.Cut(field, []byte(":"))
	return strings.Join(strings.Fields(string(body)), " ")
}

// dmarcAction is what to do with a message a DMARC policy applies to:
// reject, quarantine or none, as the admin maps the policy.
func (c *conn) dmarcAction(p dmarc.Policy) string {
	switch p {
	case dmarc.PolicyReject:
		return c.srv.cfg.DMARCRejectAction
	case dmarc.PolicyQuarantine:
		return c.srv.cfg.DMARCQuarantineAction
	}
	return "none"
}

// authorTap keeps the From: fields of a message for DMARC, bounded: the
// first few are plenty to find more author domains than DMARC accepts.
type authorTap struct{ fields [][]byte }

const maxAuthorFields = 8

func (t *authorTap) Header(field []byte) {
	name, _, ok := bytes.Cut(field, []byte(":"))
	if !ok || !bytes.EqualFold(bytes.TrimRight(name, " \t"), []byte("From")) || len(t.fields) == maxAuthorFields {
		return
	}
	t.fields = append(t.fields, bytes.Clone(field))
}

func (t *authorTap) HeaderEnd()  {}
func (t *authorTap) Body([]byte) {}
func (t *authorTap) End()        {}
