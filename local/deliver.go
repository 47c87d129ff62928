package local

import (
	"bufio"
	"bytes"
	"context"
	"errors"

	"os"
	"strconv"
	"strings"
	"syscall"

	"postern.dev/postern/libmail/address"
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/mailbox"
	"postern.dev/postern/libmail/maildir"
	"postern.dev/postern/libmail/message"
	"postern.dev/postern/libmail/queue"
)

// deliver delivers recipient i of entry e and returns its result and the
// address it finally went to (for the to= field; orig_to is the entry's).
func (a *Agent) deliver(ctx context.Context, e *queue.Entry, f *os.File, i int) (queue.Result, string) {
	rcpt := e.Recipients[i].Addr
	res := queue.Result{Rcpt: i, Relay: "local"}
	fail := func(err error) (queue.Result, string) {
		var de *deliveryError
		if !errors.As(err, &de) {
			de = &deliveryError{temp: true, dsn: "4.3.0", text: err.Error()}
		}
		res.Status, res.DSN, res.Reply = queue.Failed, de.dsn, de.text
		if de.temp {
			res.Status = queue.Deferred
		}
		return res, rcpt
	}
	if loop, err := a.looped(e, f, rcpt); err != nil {
		return fail(temporary("4.3.0", "cannot read message: %v", err))
	} else if loop {
		return fail(permanent("5.4.6", "mail forwarding loop for %s", rcpt))
	}
	x := &expander{a: a, seen: map[string]bool{}}
	if err := x.expand(rcpt, 0, "", nil); err != nil {
		return fail(err)
	}
	var remote []string
	var notes []string
	final := rcpt
	for j, t := range x.targets {
		if t.kind == toRemote {
			remote = append(remote, t.addr)
			continue
		}
		note, err := a.deliverTarget(ctx, e, f, t, deliveryOnce(e, i, j))
		if err != nil {
			return fail(err)
		}
		notes = append(notes, note)
		final = t.addr
	}
	if len(remote) > 0 {
		id, err := a.forward(e, f, rcpt, remote)
		if err != nil {
			return fail(temporary("4.3.0", "cannot queue forwarded mail: %v", err))
		}
		notes = append(notes, "forwarded as "+string(id))
	}
	if len(x.targets) != 1 {
		final = rcpt
	}
	res.Status, res.DSN, res.Reply = queue.Sent, "2.0.0", strings.Join(notes, "; ")
	if res.Reply == "" {
		res.Reply = "delivered"
	}
	return res, final
}

// loopScanLimit is how much of the header looped reads: more than smtpd's
// header_size_limit and the fields forwarding adds.
const loopScanLimit = 1 << 20

// looped reports whether the message already carries Delivered-To: for
// rcpt: it came back to a mailbox it was delivered to before.
func (a *Agent) looped(e *queue.Entry, f *os.File, rcpt string) (bool, error) {
	found := false
	err := message.ScanHeader(bufio.NewReaderSize(e.Message(f), 16<<10), loopScanLimit, func(name, value []byte) bool {
		if strings.EqualFold(string(name), "Delivered-To") && strings.EqualFold(string(bytes.TrimSpace(value)), rcpt) {
			found = true
			return false
		}
		return true
	})
	if errors.Is(err, message.ErrHeaderTooLong) {
		// A header this long (queued before smtpd cut headers at
		// header_size_limit, or grown by forwarding) must not keep the
		// message from delivery, deferred until it expires. The scan saw
		// the top of it, which is where local adds Delivered-To:, so a
		// loop still shows there.
		return found, nil
	}
	return found, err
}

// header is what local adds on top of every delivered message, in the
// Unix line-end form of a mailbox file.
func header(e *queue.Entry, rcpt string) []byte {
	return []byte("Return-Path: <" + address.Quote(e.Sender) + ">\nDelivered-To: " + rcpt + "\n")
}

// deliveryOnce names the delivery of entry e's recipient i to its j-th
// target, the same at every attempt, so that the Maildir recognises a
// delivery an interrupted attempt already made (see maildir.Once). The
// queue ID is unique for the life of the spool, so the key is too.
func deliveryOnce(e *queue.Entry, i, j int) maildir.Once {
	return maildir.Once{
		Key:     string(e.ID) + "-" + strconv.Itoa(i) + "-" + strconv.Itoa(j),
		Time:    e.ID.Time(),
		Recheck: e.Interrupted,
	}
}

// dupNote is added to the log note of a delivery found already made.
const dupNote = " (already there from an interrupted attempt)"

// deliverTarget performs one delivery and returns a note for the log.
func (a *Agent) deliverTarget(ctx context.Context, e *queue.Entry, f *os.File, t target, once maildir.Once) (string, error) {
	switch t.kind {
	case toVirtual:
		note := "delivered to maildir"
		d := mailbox.Delivery{Root: t.value, QuotaLimit: t.quota, Size: e.Size, Header: header(e, t.addr), Body: e.Message(f), Now: a.now(), Once: once}
		if e.Quarantine != "" {
			d.Folder = maildir.JunkFolder
			note = "delivered to maildir folder " + maildir.JunkFolder + " (" + e.Quarantine + ")"
		}
		var dup bool
		err := daemon.AsUser(a.vmail.UID, a.vmail.GID, func() (err error) {
			_, dup, err = mailbox.Deliver(ctx, a.mw, d)
			return err
		})
		if err != nil {
			return "", mailboxError(t.value, err)
		}
		if dup {
			note += dupNote
		}
		return note, nil
	case toUser, toCommand, toFile:
		return a.runChild(ctx, e, f, t, once)
	}
	return "", permanent("5.3.0", "internal error: unknown target")
}

// mailboxError classifies a failed mailbox write. A mailbox over its quota
// (mailbox_quota, or the file system's) is deferred with 4.2.2, "mailbox
// full" (RFC 3463): the user may make room, and the message bounces only
// when it expires in the queue, as Dovecot's LDA advises with its
// quota_full_tempfail. Anything else is temporary too.
func mailboxError(root string, err error) error {
	switch {
	case errors.Is(err, mailbox.ErrOverQuota), errors.Is(err, syscall.EDQUOT):
		return temporary("4.2.2", "mailbox %s is full", root)
	case errors.Is(err, syscall.ENOSPC):
		return temporary("4.3.0", "cannot update mailbox %s: disk full", root)
	}
	return temporary("4.2.0", "cannot update mailbox %s: %v", root, err)
}
