package pickup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"postern.dev/postern/libmail/address"
	"postern.dev/postern/libmail/dkim"
	"postern.dev/postern/libmail/intake"
	"postern.dev/postern/libmail/maildrop"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/metrics"
	"postern.dev/postern/libmail/queue"
)

// Waker tells qmgr about new entries; *wake.Client implements it.
type Waker interface{ Wake(queue.ID) }

// Pickup takes submissions from maildrop/ into the queue.
type Pickup struct {
	cfg    *Config
	spool  *queue.Spool
	wake   Waker
	log    *maillog.Logger
	now    func() time.Time
	lookup func(uid int) (User, error)
	// metrics counts what /metrics shows (messages received, as smtpd
	// counts its own); nil counts nothing.
	metrics *metrics.Set
	// warned remembers entries of maildrop/ already complained about
	// that could not be removed, so each scan does not repeat it.
	warned map[string]bool
}

// New returns a Pickup. lookup finds a submitter by user ID (LookupUID).
func New(cfg *Config, spool *queue.Spool, wake Waker, log *maillog.Logger, now func() time.Time, lookup func(int) (User, error)) *Pickup {
	return &Pickup{cfg: cfg, spool: spool, wake: wake, log: log, now: now, lookup: lookup, warned: map[string]bool{}}
}

// staleAfter is how long a file may be in the writing before pickup takes
// its writer for dead and removes it.
const staleAfter = 24 * time.Hour

// Scan takes every submission in maildrop/ and clears what no sendmail
// will finish. It returns how many messages it queued. It stops between
// files when ctx ends: what is left waits for the next start.
func (p *Pickup) Scan(ctx context.Context) int {
	subs, stale, other, err := maildrop.Entries(p.cfg.Maildrop, p.now(), staleAfter)
	if err != nil {
		p.log.Warn("%v", err)
		return 0
	}
	for _, n := range stale {
		if os.Remove(filepath.Join(p.cfg.Maildrop, n)) == nil {
			p.log.Info("maildrop: removed %s, unfinished for more than %s", n, staleAfter)
		}
	}
	for _, n := range other {
		if err := os.Remove(filepath.Join(p.cfg.Maildrop, n)); err == nil {
			p.log.Warn("maildrop: removed %q: not a file sendmail makes", n)
		} else if !p.warned[n] {
			p.warned[n] = true
			p.log.Warn("maildrop: %q is not a file sendmail makes, and cannot be removed: %v", n, err)
		}
	}
	queued := 0
	for _, n := range subs {
		if ctx.Err() != nil {
			break
		}
		if p.Take(n) {
			queued++
		}
	}
	return queued
}

// Take moves one submission into the queue and reports whether it did.
// A bad file is moved aside or removed with a log line; a file that
// cannot be taken for now (the queue cannot be written) stays for the
// next scan.
func (p *Pickup) Take(name string) bool {
	sub, err := maildrop.Open(p.cfg.Maildrop, name, p.cfg.SizeLimit)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		return false // taken by someone else, or withdrawn
	case errors.Is(err, maildrop.ErrUnsafe):
		// Not a regular file: nothing sendmail made, and nothing to keep.
		os.Remove(filepath.Join(p.cfg.Maildrop, name))
		p.log.Warn("maildrop: removed %s: %v", name, err)
		return false
	case errors.Is(err, maildrop.ErrFormat), errors.Is(err, fs.ErrPermission):
		// A file pickup may not read was made so by its writer (sendmail
		// makes them readable): aside with it, rather than fail on it at
		// every scan.
		p.aside(name, ownerOf(p.cfg.Maildrop, name), err)
		return false
	default:
		p.log.Warn("maildrop: %s: %v (tried again later)", name, err)
		return false
	}
	defer sub.Close()
	env, from, given, err := p.envelope(sub)
	if err != nil {
		p.aside(name, sub.UID, err)
		return false
	}
	id := p.spool.NewID()
	w, err := intake.Create(p.spool, id, env, &p.cfg.Intake,
		&intake.Source{LineEnds: intake.LF, AddMissing: true, UID: sub.UID, Sign: true, From: from})
	if err != nil {
		p.log.Error("%s: %v", id, err)
		return false
	}
	if _, err := io.Copy(w, sub.Message); err != nil {
		w.Abort()
		p.log.Warn("maildrop: %s: %v (tried again later)", name, err)
		return false
	}
	if err := w.End(); err != nil {
		w.Abort()
		if refused(err) {
			p.aside(name, sub.UID, fmt.Errorf("message refused: %w", err))
		} else {
			p.log.Error("%s: %v", id, err)
		}
		return false
	}
	if w.HeaderCut() {
		p.log.Info("%s: header section longer than header_size_limit (%d bytes): the rest is kept as body", id, p.cfg.Intake.HeaderLimit)
	}
	if err := w.Commit(); err != nil {
		p.log.Error("%s: %v", id, err)
		return false
	}
	p.log.Info("%s: uid=%d from=<%s>", id, sub.UID, address.Quote(given))
	p.metrics.Inc(metrics.Received, "pickup")
	if mid := w.MessageID(); mid != "" {
		p.log.Info("%s: message-id=%s", id, printable(mid))
	}
	if keys := w.DKIMKeys(); len(keys) > 0 {
		p.log.Info("%s: %s", id, dkim.Added(keys))
	}
	p.wake.Wake(id)
	// Only now may the file go: a crash before this line queues the
	// message again at the next scan (a duplicate, never a loss).
	if err := os.Remove(filepath.Join(p.cfg.Maildrop, name)); err != nil {
		p.log.Error("maildrop: %s queued as %s but not removed: %v", name, id, err)
	}
	return true
}

// refused reports whether intake refused the message for what it is
// (rather than for a write error).
func refused(err error) bool {
	for _, e := range []error{intake.ErrBareCR, intake.ErrBareLF, intake.ErrNUL, intake.ErrTooBig, intake.ErrHops} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// envelope decides the queue envelope of a submission: the sender from
// its owner, the recipients and DSN requests from the file, all checked.
// It also returns the From: field to add and the sender as given, before
// @myorigin was appended, which Postfix's pickup logs.
func (p *Pickup) envelope(sub *maildrop.Submission) (env *queue.Envelope, from, given string, err error) {
	u, err := p.lookup(sub.UID)
	if err != nil {
		return nil, "", "", fmt.Errorf("owner uid %d is no user: %w", sub.UID, err)
	}
	e := sub.Envelope
	own := p.cfg.qualify(u.Login)
	sender, given := own, u.Login
	if e.HasSender {
		asked := p.cfg.qualify(e.Sender)
		switch {
		case p.cfg.trusted(sub.UID, u.Login):
			sender, given = asked, e.Sender
		case asked != own:
			p.log.Warn("maildrop: %s: uid=%d (%s) may not send as <%s> (not in sendmail_trusted_users): sender set to <%s>",
				sub.Name, sub.UID, u.Login, address.Quote(asked), address.Quote(own))
		}
	}
	if sender != "" {
		if err := checkAddr(sender); err != nil {
			return nil, "", "", fmt.Errorf("sender: %w", err)
		}
	}
	env = &queue.Envelope{Arrival: p.now(), Sender: sender, EnvID: e.EnvID, Ret: e.Ret, Body: e.Body,
		ClientName: "localhost", Proto: "local"}
	env.SMTPUTF8 = !address.IsASCII(sender)
	for _, r := range e.Recipients {
		addr := p.cfg.qualify(r.Addr)
		if err := checkAddr(addr); err != nil {
			return nil, "", "", fmt.Errorf("recipient: %w", err)
		}
		env.SMTPUTF8 = env.SMTPUTF8 || !address.IsASCII(addr)
		env.Recipients = append(env.Recipients, queue.Recipient{Addr: addr, Notify: r.Notify})
	}
	// -F names the submitter; the password file's name goes with the
	// submitter's own address only, not with a sender a trusted user chose.
	if sender != "" {
		name := e.FullName
		if name == "" && sender == own {
			name = u.FullName
		}
		from = fromField(name, sender)
	}
	return env, from, given, nil
}

// aside moves a bad submission to corrupt/ for a human, or removes it if
// that fails, saying so either way.
func (p *Pickup) aside(name string, uid int, why error) {
	src := filepath.Join(p.cfg.Maildrop, name)
	dst := filepath.Join(p.cfg.Corrupt, "maildrop."+name)
	if err := os.Rename(src, dst); err == nil {
		p.log.Warn("maildrop: %s from uid=%d moved to %s: %v", name, uid, dst, why)
		return
	}
	os.Remove(src)
	p.log.Warn("maildrop: %s from uid=%d removed: %v", name, uid, why)
}

// ownerOf is the owner of a file pickup could not read as a submission,
// for the log; -1 if unknown.
func ownerOf(dir, name string) int {
	st, err := os.Lstat(filepath.Join(dir, name))
	if err != nil {
		return -1
	}
	if s, ok := statUID(st); ok {
		return s
	}
	return -1
}

// printable keeps a header value from the message safe for one log line.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
