package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"postern.dev/postern/libmail/maildrop"
	"postern.dev/postern/libmail/queue"
)

// errTemp is a failure to store the message: try again later
// (EX_TEMPFAIL), nothing was taken.
var errTemp = errors.New("cannot store the message")

// deliver is -bm: read the message, find its recipients, leave it in
// maildrop/ and wake pickup.
func (s *sendmail) deliver(o *options) int {
	var rcpts []string
	for _, a := range o.recipients {
		list, err := parseList(a)
		if err != nil {
			return s.fatal(exDataErr, "%v", err)
		}
		rcpts = append(rcpts, list...)
	}
	if !o.extract && len(rcpts) == 0 {
		return s.fatal(exUsage, "Recipient addresses must be specified on the command line or via the -t option")
	}
	in := newInput(s.stdin, o.ignoreDots, s.params.MessageSizeLimit)
	h, err := readHeader(in, s.params.HeaderSizeLimit)
	if err != nil {
		return s.inputError(err)
	}
	if o.extract {
		more, err := h.extract()
		if err != nil {
			return s.fatal(exDataErr, "%v", err)
		}
		rcpts = append(rcpts, more...)
		if len(rcpts) == 0 {
			return s.fatal(exUsage, "No recipient addresses found in message header")
		}
	}
	env := s.envelope(o, rcpts)
	s.warnUntrusted(o)
	err = s.store(env, func(w io.Writer) error {
		if err := h.writeTo(w); err != nil {
			return err
		}
		for {
			line, err := in.next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if _, err := w.Write(line); err != nil {
				return err
			}
		}
	})
	if err != nil {
		if errors.Is(err, errTemp) {
			return s.fatal(exTempFail, "%v", err)
		}
		return s.inputError(err)
	}
	return exOK
}

// inputError is the exit for a failure while reading the message.
func (s *sendmail) inputError(err error) int {
	if errors.Is(err, errMessage) {
		return s.fatal(exDataErr, "%v", err)
	}
	return s.fatal(exTempFail, "reading the message: %v", err)
}

// envelope is the maildrop envelope of the options and recipients.
func (s *sendmail) envelope(o *options, rcpts []string) *maildrop.Envelope {
	e := &maildrop.Envelope{HasSender: o.hasSender, Sender: o.sender, FullName: o.fullName,
		EnvID: o.envID, Ret: o.ret, Body: o.body}
	for _, r := range rcpts {
		e.Recipients = append(e.Recipients, maildrop.Recipient{Addr: r, Notify: o.notify})
	}
	return e
}

// store writes one submission into maildrop/ (the envelope, then what
// message writes) and wakes pickup. An error that wraps errTemp is the
// maildrop's; any other is message's.
func (s *sendmail) store(env *maildrop.Envelope, message func(io.Writer) error) error {
	dir := filepath.Join(s.params.QueueDirectory, maildrop.Dir)
	f, err := maildrop.Create(dir)
	if err != nil {
		return fmt.Errorf("%w: %v", errTemp, err)
	}
	if err := maildrop.WriteEnvelope(f, env); err != nil {
		f.Abort()
		return fmt.Errorf("%w: %v", errTemp, err)
	}
	if err := message(f); err != nil {
		f.Abort()
		if errors.Is(err, errMessage) {
			return err
		}
		return fmt.Errorf("%w: %w", errTemp, err)
	}
	name, err := f.Commit()
	if err != nil {
		return fmt.Errorf("%w: %v", errTemp, err)
	}
	if s.verbose > 0 {
		fmt.Fprintf(s.stderr, "sendmail: message left in %s as %s\n", dir, name)
	}
	s.knock()
	return nil
}

// knock wakes pickup. It is only a hurry: pickup also looks on its own,
// so a master that is down delays the mail until it starts.
func (s *sendmail) knock() {
	path := filepath.Join(s.params.QueueDirectory, queue.PickupSocket)
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err != nil {
		if s.verbose > 0 {
			fmt.Fprintf(s.stderr, "sendmail: warning: cannot wake pickup (%v); the mail is delivered when the mail system runs\n", err)
		}
		return
	}
	c.Close()
}

// warnUntrusted tells a caller whose -f pickup will not keep, by the
// same rule: trusted are the users of sendmail_trusted_users and the
// owner of maildrop/, as whom pickup runs. pickup decides; this is only
// so the caller hears it.
func (s *sendmail) warnUntrusted(o *options) {
	if !o.hasSender {
		return
	}
	login, err := callerLogin()
	if err != nil || slices.Contains(s.params.SendmailTrustedUsers, login) {
		return
	}
	if st, err := os.Stat(filepath.Join(s.params.QueueDirectory, maildrop.Dir)); err == nil {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) == os.Getuid() {
			return
		}
	}
	if o.sender == login || o.sender == login+"@"+s.params.MyOrigin {
		return
	}
	fmt.Fprintf(s.stderr, "sendmail: warning: -f <%s> is kept for trusted users only (sendmail_trusted_users); this mail is sent as %s@%s\n",
		o.sender, login, s.params.MyOrigin)
}

// callerLogin checks that the caller is a user, as pickup will need.
func callerLogin() (string, error) {
	u, err := lookupUID(os.Getuid())
	if err != nil {
		return "", err
	}
	return u, nil
}
