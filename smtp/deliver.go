package smtp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"time"
	"unicode/utf8"

	"postern.dev/postern/libmail/esmtp"
	"postern.dev/postern/libmail/queue"
)

// deliver sends the job's recipients to nexthop and reports whether no
// server of it could be reached (delivery.Reply.Unreachable).
//
// A session cached from an earlier request to the same nexthop, TLS
// level and credentials is used first. Then the servers of the nexthop
// are tried in order, address by address: a server that cannot be
// reached, refuses to talk, fails the TLS requirement or refuses the
// login gives way to the next; one that holds a transaction decides
// each recipient, except that a temporary refusal of a recipient leaves
// it to the next server, as in Postfix, so a backup MX can take what a
// greylisting primary would not. At most mxSessionLimit transactions
// are tried.
func (a *Agent) deliver(ctx context.Context, j *job, nexthop string) (unreachable bool) {
	d, err := parseNexthop(nexthop, a.cfg.Port)
	if err != nil {
		j.finish(deferred("4.3.5", "mail system configuration error: "+err.Error()))
		return false
	}
	cred, f := a.credentialFor(d)
	if f != nil {
		j.finish(f)
		return false
	}
	pol := a.policyFor(d)
	key := d.nexthop + " " + pol.mode.String()
	if cred != nil {
		// A session logged in as one user serves only deliveries that
		// would log in as the same.
		key += " auth " + cred.id
	}
	if c := a.cache.take(key); c != nil {
		j.held = a.transactions(ctx, j, c, false)
		a.release(key, c)
		if len(j.pending()) == 0 {
			return false
		}
	}
	hosts, f := a.route(ctx, d)
	if f != nil {
		j.finish(f)
		return f.unreachable && !j.held
	}
	sts := a.stsFor(ctx, d, pol)
	var naddr int
	for i := range hosts {
		naddr += len(hosts[i].addrs)
	}
	var last *failure
	tried, sessions := 0, 0
hosts:
	for i := range hosts {
		h := &hosts[i]
		plan, f := a.planHost(ctx, d, pol, h, sts)
		if f != nil {
			tried += len(h.addrs)
			a.skipped(j, f, tried == naddr)
			last = f
			continue
		}
		for _, ip := range h.addrs {
			tried++
			if ctx.Err() != nil {
				break hosts
			}
			addr := netip.AddrPortFrom(ip, uint16(d.port))
			c, f := a.connect(ctx, h, addr, &plan, cred)
			if f != nil && f.plaintext {
				a.log.Info("%s: %s: trying again without TLS", j.id, f.logText())
				c, f = a.connect(ctx, h, addr, &tlsPlan{mode: tlsNone}, cred)
			}
			if f != nil {
				a.skipped(j, f, tried == naddr)
				last = f
				continue
			}
			j.held = true
			sessions++
			a.transactions(ctx, j, c, tried == naddr || sessions == mxSessionLimit)
			a.release(key, c)
			if len(j.pending()) == 0 || sessions == mxSessionLimit {
				break hosts
			}
		}
	}
	if len(j.pending()) > 0 {
		if last == nil {
			last = deferred("4.4.1", "no server of "+d.host+" accepted the mail")
		}
		j.finish(last)
	}
	return !j.held && last != nil && last.unreachable
}

// skipped logs why a server was passed over, as Postfix does, unless it
// was the last one: then the reason is the recipients' result and shows
// in their to= lines.
func (a *Agent) skipped(j *job, f *failure, last bool) {
	switch {
	case last:
	case f.connect:
		a.log.Info("%s", f.logText())
	default:
		a.log.Info("%s: %s", j.id, f.logText())
	}
}

// release puts a session back into the cache, or ends it.
func (a *Agent) release(key string, c *esmtp.Client) {
	if c.Broken() {
		c.Close()
		return
	}
	a.cache.put(key, c)
}

// transactions sends the job's undecided recipients over session c and
// decides them from the replies. A "452 too many recipients" leaves a
// recipient for another transaction in the same session, as long as the
// last one delivered something (RFC 5321 §4.5.3.1.10). final says
// whether c is the last server to try. It reports false when the
// session turned out dead before a transaction began (a cached session
// whose RSET failed): then nothing was decided.
func (a *Agent) transactions(ctx context.Context, j *job, c *esmtp.Client, final bool) (used bool) {
	stop := context.AfterFunc(ctx, c.Abort)
	defer func() {
		if !stop() {
			// The abort may still be on its way in another goroutine:
			// the session must not be cached before it lands.
			c.Abort()
		}
	}()
	ready := a.now()
	idx := j.pending()
	relay, ext := c.Relay(), c.Ext()
	if j.msg.env.SMTPUTF8 && !ext.SMTPUTF8 && needsSMTPUTF8(j, idx) {
		for _, i := range idx {
			j.decide(i, queue.Failed, "5.6.7", relay, "SMTPUTF8 is required, but was not offered by host "+relay, "", ready, true)
		}
		return true
	}
	if ext.SizeLimit > 0 && j.msg.size > ext.SizeLimit {
		why := fmt.Sprintf("message size %d exceeds size limit %d of server %s", j.msg.size, ext.SizeLimit, relay)
		for _, i := range idx {
			j.decide(i, queue.Failed, "5.3.4", relay, why, "", ready, true)
		}
		return true
	}
	if !a.eightBitOK(j, c, idx, ready) {
		return true
	}
	bp := a.buffer()
	defer a.bufs.Put(bp)
	tx := esmtp.Transaction{Mail: j.msg.mail(), Rcpts: make([]esmtp.Rcpt, 0, len(idx)),
		Data: func(w io.Writer) error { return j.msg.writeTo(w, *bp) }}
	for len(idx) > 0 {
		tx.Rcpts = tx.Rcpts[:0]
		for _, i := range idx {
			r := &j.rcpts[i]
			tx.Rcpts = append(tx.Rcpts, esmtp.Rcpt{To: r.Addr, Notify: r.Notify, ORcpt: r.ORcpt})
		}
		err := c.Send(&tx)
		j.msg.folded = j.msg.folded || tx.Folded
		if j.msg.folded && !j.msg.noted {
			j.msg.noted = true
			a.log.Info("%s: breaking line > %d bytes with <CR><LF>SPACE", j.id, a.cfg.Content.LineLimit)
		}
		var again []int
		delivered := false
		for k := range tx.Answers {
			an := &tx.Answers[k]
			i := idx[k]
			if an.In == "" {
				continue
			}
			r := &an.Reply
			text := r.String()
			said := "host " + relay + " said: " + text + " (in reply to " + an.In + " command)"
			switch r.Class() {
			case 2:
				delivered = true
				j.decide(i, queue.Sent, r.DSN(), relay, text, text, ready, true)
			case 5:
				j.decide(i, queue.Failed, r.DSN(), relay, text, said, ready, true)
			default:
				if !final {
					// Postfix's words when it keeps a recipient for the
					// next server.
					a.log.Info("%s: %s", j.id, said)
				}
				j.decide(i, queue.Deferred, r.DSN(), relay, text, said, ready, final)
				if r.Code == 452 && an.In == "RCPT TO" {
					again = append(again, i)
				}
			}
		}
		if err != nil {
			var ioe *esmtp.IOError
			if errors.As(err, &ioe) && ioe.RsetFailed() {
				return false
			}
			for k := range tx.Answers {
				if tx.Answers[k].In == "" {
					j.decide(idx[k], queue.Deferred, "4.4.2", relay, err.Error(), "", ready, final)
				}
			}
			return true
		}
		if !delivered || c.Broken() || ctx.Err() != nil {
			return true
		}
		idx = again
	}
	return true
}

// eightBitOK decides how the message goes to a server that did not
// announce 8BITMIME, to which RFC 6152 §3 forbids sending 8-bit data:
// as it is when it has no 8-bit octets (whatever BODY= the client
// declared) or when disable_mime_output_conversion is set, as Postfix
// does; converted to 7-bit MIME otherwise (package downgrade); and
// returned with 5.6.3 when it cannot be converted. It reports false
// when it decided the recipients at idx.
func (a *Agent) eightBitOK(j *job, c *esmtp.Client, idx []int, ready time.Time) bool {
	j.msg.convert = false
	if c.Ext().EightBitMIME || !a.cfg.Content.Downgrade {
		return true
	}
	p, err := j.msg.downgradePlan()
	switch {
	case err != nil:
		for _, i := range idx {
			j.decide(i, queue.Deferred, "4.3.0", c.Relay(), "cannot read the message from the queue file: "+err.Error(), "", ready, true)
		}
		return false
	case !p.EightBit:
		return true
	case p.Reason != "":
		why := fmt.Sprintf("host %s does not announce 8BITMIME, and the message cannot be converted to 7-bit MIME: %s", c.Relay(), p.Reason)
		for _, i := range idx {
			j.decide(i, queue.Failed, "5.6.3", c.Relay(), why, "", ready, true)
		}
		return false
	}
	j.msg.convert = true
	return true
}

// needsSMTPUTF8 reports whether the envelope of the recipients at idx
// cannot be written in ASCII: then the server must support SMTPUTF8
// (RFC 6531 §3.4). A message marked SMTPUTF8 only for its headers goes
// to a server without it, as Postfix sends it.
func needsSMTPUTF8(j *job, idx []int) bool {
	if !isASCII(j.msg.env.Sender) {
		return true
	}
	for _, i := range idx {
		if !isASCII(j.rcpts[i].Addr) {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
