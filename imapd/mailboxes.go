package imapd

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"

	"postern.dev/postern/imapd/imap"
	"postern.dev/postern/libmail/mailbox"
)

func (s *session) cmdCreate(c *imap.Command) error {
	a := c.Args.(*imap.Create)
	name, err := s.mailboxName(a.Mailbox)
	if err != nil {
		return s.reply(c.Tag, "BAD", "", "Invalid mailbox name.")
	}
	if len(a.Use) > 0 {
		// The special-use folders are made with the account (RFC 6154 §3).
		return s.reply(c.Tag, "NO", "USEATTR", "Special-use attributes are fixed.")
	}
	// A trailing delimiter only says children will follow (RFC 3501 §6.3.3).
	name = strings.TrimSuffix(name, string(mailbox.Delimiter))
	if strings.EqualFold(name, mailbox.Inbox) {
		return s.reply(c.Tag, "NO", "ALREADYEXISTS", "Mailbox already exists.")
	}
	if err := s.store.Create(s.ctx, name); err != nil {
		return s.storeError(c.Tag, err)
	}
	return s.done(c, "", "Create completed.")
}

func (s *session) cmdDelete(c *imap.Command) error {
	name, err := s.mailboxName(c.Args.(*imap.MailboxArg).Mailbox)
	if err != nil {
		return s.reply(c.Tag, "BAD", "", "Invalid mailbox name.")
	}
	if name == mailbox.Inbox {
		return s.reply(c.Tag, "NO", "CANNOT", "INBOX can't be deleted.")
	}
	if err := s.store.Delete(s.ctx, name); err != nil {
		return s.storeError(c.Tag, err)
	}
	return s.done(c, "", "Delete completed.")
}

func (s *session) cmdRename(c *imap.Command) error {
	a := c.Args.(*imap.Rename)
	from, err1 := s.mailboxName(a.From)
	to, err2 := s.mailboxName(a.To)
	if err1 != nil || err2 != nil {
		return s.reply(c.Tag, "BAD", "", "Invalid mailbox name.")
	}
	if err := s.store.Rename(s.ctx, from, to); err != nil {
		return s.storeError(c.Tag, err)
	}
	return s.done(c, "", "Rename completed.")
}

func (s *session) cmdSubscribe(c *imap.Command) error {
	name, err := s.mailboxName(c.Args.(*imap.MailboxArg).Mailbox)
	if err != nil {
		return s.reply(c.Tag, "BAD", "", "Invalid mailbox name.")
	}
	if err := s.store.Subscribe(s.ctx, name, c.Name == "SUBSCRIBE"); err != nil {
		return s.storeError(c.Tag, err)
	}
	return s.done(c, "", c.Name+" completed.")
}

// status is a folder's Status and, when asked, its count of \Deleted
// messages (IMAP4rev2's STATUS DELETED), which only a look at the
// messages gives.
type status struct {
	mailbox.Status
	deleted uint32
}

func (s *session) status(name string, items []string) (status, error) {
	st, err := s.store.Status(s.ctx, name)
	if err != nil || !slices.Contains(items, "DELETED") {
		return status{Status: st}, err
	}
	f, err := s.store.Select(s.ctx, name, true)
	if err != nil {
		return status{Status: st}, err
	}
	defer f.Close()
	n := uint32(0)
	for _, m := range f.Messages() {
		if m.Has(`\Deleted`) {
			n++
		}
	}
	return status{Status: st, deleted: n}, nil
}

// statusItems answers STATUS items from a folder's status.
func (s *session) statusItems(items []string, st status) []imap.StatusItem {
	out := make([]imap.StatusItem, 0, len(items))
	for _, it := range items {
		var v uint64
		switch it {
		case "MESSAGES":
			v = uint64(st.Messages)
		case "RECENT":
			v = uint64(st.Recent)
		case "UIDNEXT":
			v = uint64(st.UIDNext)
		case "UIDVALIDITY":
			v = uint64(st.UIDValidity)
		case "UNSEEN":
			v = uint64(st.Unseen)
		case "SIZE":
			v = uint64(st.Size)
		case "HIGHESTMODSEQ":
			v = st.HighestModSeq
		case "APPENDLIMIT":
			v = uint64(s.cfg.Limits.Append)
		case "DELETED":
			v = uint64(st.deleted)
		default:
			continue
		}
		out = append(out, imap.StatusItem{Name: it, Value: v})
	}
	return out
}

func (s *session) cmdStatus(c *imap.Command) error {
	a := c.Args.(*imap.Status)
	name, err := s.mailboxName(a.Mailbox)
	if err != nil {
		return s.reply(c.Tag, "BAD", "", "Invalid mailbox name.")
	}
	for _, it := range a.Items {
		if it == "HIGHESTMODSEQ" {
			s.condstore = true // RFC 7162 §3.1.9
		}
	}
	st, err := s.status(name, a.Items)
	if err != nil {
		return s.storeError(c.Tag, err)
	}
	s.w.StatusResponse(name, s.statusItems(a.Items, st))
	return s.done(c, "", "Status completed.")
}

// cmdAppend is APPEND with UIDPLUS's APPENDUID (RFC 4315 §3).
func (s *session) cmdAppend(c *imap.Command) error {
	a := c.Args.(*imap.Append)
	name, err := s.mailboxName(a.Mailbox)
	if err != nil {
		return s.reply(c.Tag, "BAD", "", "Invalid mailbox name.")
	}
	if a.UTF8 && !s.utf8 && !s.rev2 {
		return s.reply(c.Tag, "BAD", "", "UTF8 literals need ENABLE UTF8=ACCEPT.")
	}
	var r io.Reader = bytes.NewReader(a.Message)
	if sp, ok := a.Sink.(spool); ok {
		r = sp.reader()
	}
	res, err := s.store.Append(s.ctx, name, a.Flags, a.Date, r)
	if err != nil {
		if errors.Is(err, mailbox.ErrNoFolder) {
			return s.reply(c.Tag, "NO", "TRYCREATE", "Mailbox doesn't exist: "+name)
		}
		return s.storeError(c.Tag, err)
	}
	return s.done(c, "APPENDUID "+itoa(uint64(res.UIDValidity))+" "+itoa(uint64(res.UID)), "Append completed.")
}

// cmdQuota is GETQUOTA, GETQUOTAROOT (RFC 9208) and SETQUOTA (refused:
// quotas are the administrator's). The account is one quota root, "".
func (s *session) cmdQuota(c *imap.Command) error {
	if c.Name == "SETQUOTA" {
		return s.reply(c.Tag, "NO", "NOPERM", "Quotas are set by the administrator.")
	}
	q, err := s.store.Quota(s.ctx)
	if err != nil {
		return s.storeError(c.Tag, err)
	}
	arg := c.Args.(*imap.MailboxArg).Mailbox
	if c.Name == "GETQUOTAROOT" {
		name, err := s.mailboxName(arg)
		if err != nil {
			return s.reply(c.Tag, "BAD", "", "Invalid mailbox name.")
		}
		if _, err := s.store.Status(s.ctx, name); err != nil {
			return s.storeError(c.Tag, err)
		}
		s.w.Untagged().Atom("QUOTAROOT ").Mailbox(name)
		if q.Limit > 0 {
			s.w.Atom(` ""`)
		}
		s.w.End()
	} else if arg != "" || q.Limit == 0 {
		return s.reply(c.Tag, "NO", "NONEXISTENT", "No such quota root.")
	}
	if q.Limit > 0 {
		// KiB, rounded up, so that a nonzero limit never shows as 0.
		s.w.Untagged().Atom(`QUOTA "" (STORAGE `).Number(uint64((q.Used + 1023) / 1024)).SP().Number(uint64((q.Limit + 1023) / 1024)).Close().End()
	}
	return s.done(c, "", c.Name+" completed.")
}
