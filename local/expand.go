package local

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"postern.dev/postern/libmail/address"
	"postern.dev/postern/libmail/alias"
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/recipient"
)

// targetKind is where one delivery of an expanded recipient goes.
type targetKind int

const (
	toVirtual targetKind = iota // a virtual account's Maildir
	toUser                      // a system user's Maildir
	toCommand                   // |command
	toFile                      // /file
	toRemote                    // an address elsewhere: queued again
)

// target is one delivery an expansion produced.
type target struct {
	kind    targetKind
	addr    string       // the address delivered to (Delivered-To)
	value   string       // command line, file path or Maildir root
	user    *daemon.User // whom it runs as (toUser, toCommand, toFile)
	ext     string       // the address extension, for commands' environment
	origin  string       // "alias", "forward" or "include", for the allow_mail_to_* checks
	account string       // for toVirtual: the account address
	quota   int64        // for Maildirs: the storage limit in bytes, 0 for none
}

// maxDepth bounds alias, include and .forward nesting, as Postfix's
// expansion limits do: deeper means a loop the seen-set did not catch.
const maxDepth = 20

// deliveryError is a delivery failure with its status.
type deliveryError struct {
	temp bool
	dsn  string
	text string
}

func (e *deliveryError) Error() string { return e.text }

func permanent(dsn, format string, args ...any) error {
	return &deliveryError{dsn: dsn, text: fmt.Sprintf(format, args...)}
}

func temporary(dsn, format string, args ...any) error {
	return &deliveryError{temp: true, dsn: dsn, text: fmt.Sprintf(format, args...)}
}

// expander resolves one recipient into targets.
type expander struct {
	a       *Agent
	seen    map[string]bool
	targets []target
}

// expand resolves addr (an address in a local domain).
func (x *expander) expand(addr string, depth int, origin string, owner *daemon.User) error {
	if depth > maxDepth {
		return permanent("5.4.6", "alias expansion of <%s> nests too deep (a loop?)", addr)
	}
	key := address.Lower(addr)
	if x.seen[key] {
		return nil // already expanded on this path: a list that includes itself
	}
	x.seen[key] = true
	m, err := x.a.dir.Lookup(addr)
	if err != nil {
		return temporary("4.3.0", "recipient lookup for <%s> failed: %v", addr, err)
	}
	switch m.Kind {
	case recipient.Alias:
		if err := x.expandAlias(addr, m, depth); err != nil {
			return err
		}
		if depth == 0 && len(x.targets) == 0 {
			// Every path led back to an address already expanded.
			return permanent("5.4.6", "alias expansion of <%s> delivers nowhere (a mail forwarding loop)", addr)
		}
		return nil
	case recipient.Account:
		x.virtual(addr, m)
		return nil
	case recipient.SystemUser:
		return x.systemUser(addr, m, depth)
	}
	return permanent("5.1.1", "unknown user: %q", localPart(addr))
}

func (x *expander) virtual(addr string, m recipient.Match) {
	root := recipient.MaildirRoot(m, x.a.cfg.VirtualBase, x.a.cfg.HomeMailbox)
	quota := recipient.MailboxQuota(m, x.a.cfg.Quota)
	if m.User != nil {
		// An account of a system user: its Maildir is the user's, written
		// as the user, where imapd and pop3d serve it as the user.
		x.targets = append(x.targets, target{kind: toUser, addr: addr, value: root, user: m.User, ext: m.Extension, quota: quota})
		return
	}
	x.targets = append(x.targets, target{kind: toVirtual, addr: addr, value: root, ext: m.Extension, account: m.Account.Address, quota: quota})
}

// systemUser delivers to a user's ~/.forward if there is one, else to
// the user's Maildir.
func (x *expander) systemUser(addr string, m recipient.Match, depth int) error {
	u := m.User
	fwd, err := x.a.readForward(u)
	if err != nil {
		return err
	}
	if len(fwd) == 0 {
		x.mailbox(addr, u, m.Extension)
		return nil
	}
	for _, t := range fwd {
		// "\user" in a .forward means: deliver to my own mailbox, not
		// through .forward again (the parser has removed the backslash).
		if t.Kind == alias.Address && address.Lower(t.Value) == address.Lower(u.Name) {
			x.mailbox(addr, u, m.Extension)
			continue
		}
		if err := x.value(addr, t, depth+1, "forward", rights{user: u}, m.Extension); err != nil {
			return err
		}
	}
	return nil
}

func (x *expander) mailbox(addr string, u *daemon.User, ext string) {
	root := recipient.MaildirRoot(recipient.Match{Kind: recipient.SystemUser, User: u}, x.a.cfg.VirtualBase, x.a.cfg.HomeMailbox)
	x.targets = append(x.targets, target{kind: toUser, addr: addr, value: root, user: u, ext: ext, quota: x.a.cfg.Quota})
}

func (x *expander) expandAlias(addr string, m recipient.Match, depth int) error {
	owner, err := x.a.aliasRights(m.AliasFile)
	if err != nil {
		return err
	}
	_, domain := address.Split(addr)
	qualify := func(s string) string {
		if !strings.Contains(s, "@") {
			s += "@" + domain
		}
		return address.Lower(s)
	}
	for _, t := range m.Targets {
		// An alias naming itself ("user: user, copy@elsewhere", also when
		// the key or the value has the domain) means the mailbox of that
		// name, not the alias again.
		if t.Kind == alias.Address && qualify(t.Value) == qualify(m.Key) {
			if err := x.notAlias(qualify(t.Value), addr); err != nil {
				return err
			}
			continue
		}
		if err := x.value(addr, t, depth+1, "alias", owner, m.Extension); err != nil {
			return err
		}
	}
	return nil
}

// notAlias delivers to an account or user without looking at aliases.
func (x *expander) notAlias(name, orig string) error {
	if acct, ok := x.a.dir.Account(name); ok {
		x.virtual(orig, recipient.Match{Kind: recipient.Account, Account: acct})
		return nil
	}
	local, _ := address.Split(name)
	if u, err := daemon.LookupUser(strings.ToLower(local)); err == nil && x.a.dir.SystemUsers() {
		x.mailbox(orig, u, "")
		return nil
	}
	return permanent("5.1.1", "unknown user: %q", local)
}

// value handles one alias, include or .forward value on behalf of owner.
func (x *expander) value(addr string, t alias.Target, depth int, origin string, owner rights, ext string) error {
	switch t.Kind {
	case alias.Address:
		dest := t.Value
		_, domain := address.Split(addr)
		if !strings.Contains(dest, "@") {
			dest += "@" + domain
		}
		_, d := address.Split(dest)
		if x.a.dir.IsLocal(d) {
			return x.expand(dest, depth, origin, owner.user)
		}
		x.targets = append(x.targets, target{kind: toRemote, addr: dest, origin: origin})
		return nil
	case alias.Include:
		return x.include(addr, t.Value, depth, ext, owner)
	case alias.Command:
		if !x.a.cfg.AllowCommands[origin] {
			return permanent("5.7.1", "mail to commands is not allowed in %s (allow_mail_to_commands)", origin)
		}
		x.targets = append(x.targets, target{kind: toCommand, addr: addr, value: t.Value, user: owner.user, ext: ext, origin: origin})
		return nil
	case alias.File:
		if !x.a.cfg.AllowFiles[origin] {
			return permanent("5.7.1", "mail to files is not allowed in %s (allow_mail_to_files)", origin)
		}
		x.targets = append(x.targets, target{kind: toFile, addr: addr, value: t.Value, user: owner.user, ext: ext, origin: origin})
		return nil
	}
	return permanent("5.3.5", "bad alias value %q", t.String())
}

// readForward reads a system user's .forward as that user (its file
// system uid, gid and groups), so a user cannot make local read a file
// they may not read themselves. As Postfix's local/dotforward.c, the first
// forward_path file that exists is the one, and it is ignored, with a
// warning, unless it is a regular file (not a symbolic link) owned by the
// user or root that not everyone may write: a .forward says what runs
// with the user's rights. An ignored or empty .forward means the mailbox.
func (a *Agent) readForward(u *daemon.User) ([]alias.Target, error) {
	for _, pattern := range a.cfg.ForwardPath {
		path := strings.NewReplacer("$home", u.Home, "${home}", u.Home, "$user", u.Name, "${user}", u.Name).Replace(pattern)
		var targets []alias.Target
		var errs []error
		var exists bool
		var problem string
		err := daemon.AsUser(u.UID, u.GID, func() error {
			var st syscall.Stat_t
			if err := syscall.Lstat(path, &st); err != nil {
				if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.ENOTDIR) {
					return nil
				}
				return err
			}
			exists = true
			if problem = forwardProblem(&st, u); problem != "" {
				return nil
			}
			// O_NOFOLLOW and O_NONBLOCK: what was checked is what is read,
			// even if the name was replaced in between.
			f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
				return err
			}
			if problem = forwardProblem(&st, u); problem != "" {
				return nil
			}
			targets, errs = alias.ParseList(f, path)
			return nil
		})
		if err != nil {
			// The user's own file, looked at as the user: the error
			// tells nobody anything they could not see.
			return nil, temporary("4.3.0", "cannot read %s: %v", path, err)
		}
		if problem != "" {
			a.log.Warn("%s %s: ignored", path, problem)
			return nil, nil
		}
		if err := a.logListErrors(errs); err != nil {
			a.log.Warn("read %s: %v", path, err)
			return nil, temporary("4.3.0", "cannot read %s", path)
		}
		if exists {
			return targets, nil
		}
	}
	return nil, nil
}

// forwardProblem says why a .forward is not to be used, or "".
func forwardProblem(st *syscall.Stat_t, u *daemon.User) string {
	switch {
	case st.Mode&syscall.S_IFMT != syscall.S_IFREG:
		return "is not a regular file"
	case st.Uid != 0 && int(st.Uid) != u.UID:
		return fmt.Sprintf("has bad owner uid %d", st.Uid)
	case st.Mode&0o002 != 0:
		return "is writable by everyone"
	}
	return ""
}

func localPart(addr string) string {
	l, _ := address.Split(addr)
	return l
}
