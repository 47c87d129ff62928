package imapd

import (
	"cmp"
	"slices"
	"strings"

	"postern.dev/postern/imapd/imap"
	"postern.dev/postern/libmail/mailbox"
)

// cmdList is LIST with LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819),
// SPECIAL-USE (RFC 6154) and CHILDREN (RFC 3348), and LSUB.
func (s *session) cmdList(c *imap.Command) error {
	a := c.Args.(*imap.List)
	has := func(list []string, v string) bool {
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	}
	ref, err := s.mailboxName(a.Reference)
	if err != nil {
		return s.reply(c.Tag, "BAD", "", "Invalid reference.")
	}
	if c.Name == "LIST" && len(a.Patterns) == 1 && a.Patterns[0] == "" && !a.Extended {
		// The hierarchy delimiter and root (RFC 3501 §6.3.8).
		s.w.Untagged().Atom(`LIST (\Noselect) "/" ""`).End()
		return s.done(c, "", "List completed.")
	}
	var pats []string
	for _, p := range a.Patterns {
		d, err := s.mailboxName(p)
		if err != nil {
			return s.reply(c.Tag, "BAD", "", "Invalid pattern.")
		}
		pats = append(pats, ref+d)
	}
	folders, err := s.store.List(s.ctx)
	if err != nil {
		return s.storeError(c.Tag, err)
	}
	subs, err := s.store.Subscriptions(s.ctx)
	if err != nil {
		return s.storeError(c.Tag, err)
	}
	subscribed := map[string]bool{}
	for _, n := range subs {
		subscribed[n] = true
	}
	exists := map[string]mailbox.FolderInfo{}
	for _, f := range folders {
		exists[f.Name] = f
	}
	selSub := has(a.Select, "SUBSCRIBED") || c.Name == "LSUB"
	retSub := has(a.Return, "SUBSCRIBED") || has(a.Select, "SUBSCRIBED")
	selUse := has(a.Select, "SPECIAL-USE")
	recursive := has(a.Select, "RECURSIVEMATCH")

	var entries []imap.ListEntry
	if selSub {
		names := append([]string(nil), subs...)
		// A parent with subscribed children (RECURSIVEMATCH, RFC 5258 §3.5).
		childSub := map[string]bool{}
		if recursive {
			for _, n := range subs {
				for i := strings.LastIndexByte(n, mailbox.Delimiter); i > 0; i = strings.LastIndexByte(n[:i], mailbox.Delimiter) {
					childSub[n[:i]] = true
				}
			}
		}
		for _, f := range folders {
			if !subscribed[f.Name] && childSub[f.Name] {
				names = append(names, f.Name)
			}
		}
		for _, n := range names {
			if !matchAny(pats, n) {
				continue
			}
			e := imap.ListEntry{Name: n, Delim: mailbox.Delimiter}
			f, ok := exists[n]
			switch {
			case !ok && c.Name == "LSUB":
				e.Attrs = append(e.Attrs, `\Noselect`)
			case !ok:
				e.Attrs = append(e.Attrs, `\NonExistent`)
			default:
				e.Attrs = folderAttrs(f, c.Name == "LIST")
			}
			if subscribed[n] && c.Name == "LIST" {
				e.Attrs = append(e.Attrs, `\Subscribed`)
			}
			if childSub[n] && c.Name == "LIST" {
				e.ChildInfo = []string{"SUBSCRIBED"}
			}
			entries = append(entries, e)
		}
	} else {
		for _, f := range folders {
			if !matchAny(pats, f.Name) || selUse && f.Use == "" {
				continue
			}
			e := imap.ListEntry{Name: f.Name, Delim: mailbox.Delimiter, Attrs: folderAttrs(f, true)}
			if retSub && subscribed[f.Name] {
				e.Attrs = append(e.Attrs, `\Subscribed`)
			}
			entries = append(entries, e)
		}
	}
	if selSub {
		// In the folders' order: INBOX first, then by name.
		slices.SortStableFunc(entries, func(x, y imap.ListEntry) int {
			return cmp.Or(cmp.Compare(boolInt(y.Name == mailbox.Inbox), boolInt(x.Name == mailbox.Inbox)), cmp.Compare(x.Name, y.Name))
		})
	}
	for i := range entries {
		e := &entries[i]
		if err := s.w.List(c.Name, e); err != nil {
			return err
		}
		if a.Status != nil && !has(e.Attrs, `\Noselect`) && !has(e.Attrs, `\NonExistent`) {
			if st, err := s.status(e.Name, a.Status); err == nil {
				s.w.StatusResponse(e.Name, s.statusItems(a.Status, st))
			}
		}
	}
	return s.done(c, "", c.Name+" completed.")
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// folderAttrs are a folder's LIST attributes: CHILDREN's and its
// special use.
func folderAttrs(f mailbox.FolderInfo, children bool) []string {
	var attrs []string
	if f.NoSelect {
		attrs = append(attrs, `\Noselect`)
	}
	if children {
		if f.Children {
			attrs = append(attrs, `\HasChildren`)
		} else {
			attrs = append(attrs, `\HasNoChildren`)
		}
	}
	if f.Use != "" {
		attrs = append(attrs, f.Use)
	}
	return attrs
}

func matchAny(pats []string, name string) bool {
	for _, p := range pats {
		if matchPattern(p, name) {
			return true
		}
	}
	return false
}

// matchPattern is LIST's wildcard match: "*" anything, "%" anything but
// the delimiter (RFC 3501 §6.3.8); INBOX matches without case.
func matchPattern(pat, name string) bool {
	if name == mailbox.Inbox || strings.HasPrefix(name, mailbox.Inbox+"/") {
		if len(pat) >= 5 && strings.EqualFold(pat[:5], mailbox.Inbox) {
			pat = mailbox.Inbox + pat[5:]
		}
	}
	return wildMatch(pat, name)
}

func wildMatch(pat, name string) bool {
	for len(pat) > 0 {
		switch pat[0] {
		case '*', '%':
			rest := pat[1:]
			for i := 0; i <= len(name); i++ {
				if wildMatch(rest, name[i:]) {
					return true
				}
				if i < len(name) && pat[0] == '%' && name[i] == mailbox.Delimiter {
					return false
				}
			}
			return false
		default:
			if len(name) == 0 || name[0] != pat[0] {
				return false
			}
			pat, name = pat[1:], name[1:]
		}
	}
	return len(name) == 0
}
