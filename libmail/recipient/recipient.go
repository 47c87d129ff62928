// Package recipient answers "who receives mail on this host": the local
// domains, and for an address in them whether it is an alias, a virtual
// account or a system user. smtpd asks at RCPT time, so unknown local
// recipients are rejected with 550 5.1.1 instead of bounced later; local
// asks again at delivery, with the same answers.
//
// The aliases and accounts files are plain text, read into memory and
// reread when they change (checked at most once a second by default), so that
// `newaliases` is a syntax check, not a required step, and an account that
// `postern user` adds can log in without a restart.
//
// It also answers "who may send as this address" for smtpd's sender
// login check (sender.go), from the accounts, the aliases and the sender
// login maps.
package recipient

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"sync"
	"syscall"
	"time"

	"postern.dev/postern/libmail/account"
	"postern.dev/postern/libmail/address"
	"postern.dev/postern/libmail/alias"
	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/maillog"
)

// Kind is what an address resolved to.
type Kind int

const (
	Unknown    Kind = iota // not a recipient here
	Alias                  // expands to Targets
	Account                // a virtual account
	SystemUser             // a user in the system's user database
)

// Match is the result of resolving one local address.
type Match struct {
	Kind    Kind
	Key     string         // the alias key that matched
	Targets []alias.Target // for Alias
	Account *account.Account
	User    *daemon.User // for SystemUser, and an Account whose line names a system user (AccountOwner)
	// Extension is the address extension that was stripped to find the
	// match (user+ext), if any.
	Extension string
	// AliasFile is the aliases file the alias came from; its owner decides
	// as whom commands and files in it run.
	AliasFile string
}

// Directory resolves local recipients. It is safe for concurrent use.
type Directory struct {
	domains    map[string]bool
	delim      string
	aliasPaths []string
	acctPath   string
	loginPaths []string // smtpd_sender_login_maps
	passwd     bool
	log        *maillog.Logger
	now        func() time.Time
	every      time.Duration // how often the files are stat'ed for changes

	mu        sync.Mutex
	checked   time.Time
	aliases   []*loaded[*alias.Table]
	accounts  *loaded[*account.File]
	logins    []*loaded[*LoginMap]
	userCache map[string]userEntry
}

type userEntry struct {
	u    *daemon.User
	when time.Time
}

// loaded is a file's parsed contents and what it looked like on disk.
type loaded[T any] struct {
	path  string
	mtime time.Time
	size  int64
	// ino tells a file replaced by rename, as `postern user` writes the
	// accounts file, from the one read before even when the new one has
	// the same size (a changed password) and the same mtime (two edits
	// within the clock's granularity).
	ino uint64
	val T
	// err says the file exists but could not be read and there is no
	// earlier version to fall back on: nobody can tell who is a recipient.
	err error
}

// New returns a Directory for the configuration in p.
func New(p *config.Params, log *maillog.Logger, now func() time.Time) *Directory {
	d := &Directory{domains: map[string]bool{}, delim: p.RecipientDelimiter, aliasPaths: p.AliasMaps,
		acctPath: p.AccountsFile, loginPaths: p.SMTPDSenderLoginMaps, passwd: p.LocalSystemUsers, log: log, now: now, userCache: map[string]userEntry{},
		every: time.Second}
	for _, dom := range p.MyDestination {
		d.domains[strings.ToLower(dom)] = true
	}
	// Load now: a lookup must never see the tables before their first
	// load, or it would call a real recipient unknown.
	d.load()
	return d
}

// CheckEvery sets how often lookups look for changed files: a second by
// default, which is what smtpd wants (RCPT is only a first filter, and a
// busy server need not stat the files per command). local passes 0: its
// answer is final, so it must see an edit that was finished before the
// delivery, not one from up to a second before.
func (d *Directory) CheckEvery(iv time.Duration) {
	d.mu.Lock()
	d.every = iv
	d.mu.Unlock()
}

// SystemUsers reports whether system users receive mail (local_system_users).
func (d *Directory) SystemUsers() bool { return d.passwd }

// IsLocal reports whether domain is delivered on this host.
func (d *Directory) IsLocal(domain string) bool { return d.domains[strings.ToLower(domain)] }

// Lookup resolves addr (local@domain, domain local). It tries, in order:
// aliases for the full address and for the bare local part, then
// accounts, then system users, each first with the extension and then
// without it, as Postfix's local(8) does.
//
// RFC 5321 §4.5.1 requires a postmaster in every domain. Where nothing
// answers for postmaster, it resolves as root does, as the aliases file
// of every Unix system says (postmaster: root): bounces and notices to
// the postmaster must never go unread for want of an alias.
func (d *Directory) Lookup(addr string) (Match, error) {
	m, err := d.lookup(addr)
	if err != nil || m.Kind != Unknown {
		return m, err
	}
	local, domain := address.Split(addr)
	if base, _ := address.StripExtension(strings.ToLower(local), d.delim); base == "postmaster" {
		return d.lookup("root@" + domain)
	}
	return m, nil
}

func (d *Directory) lookup(addr string) (Match, error) {
	d.refresh()
	local, domain := address.Split(addr)
	local = strings.ToLower(local)
	domain = strings.ToLower(domain)
	base, ext := address.StripExtension(local, d.delim)
	d.mu.Lock()
	aliases, accounts := d.aliases, d.accounts
	d.mu.Unlock()

	tries := []struct{ local, ext string }{{local, ""}}
	if ext != "" {
		tries = append(tries, struct{ local, ext string }{base, ext})
	}
	for _, t := range tries {
		for _, a := range aliases {
			if a.err != nil {
				return Match{}, a.err
			}
			if a.val == nil {
				continue
			}
			for _, key := range []string{t.local + "@" + domain, t.local} {
				if targets, ok := a.val.Lookup(key); ok {
					return Match{Kind: Alias, Key: key, Targets: targets, Extension: t.ext, AliasFile: a.path}, nil
				}
			}
		}
	}
	if accounts != nil && accounts.err != nil {
		return Match{}, accounts.err
	}
	if accounts != nil && accounts.val != nil {
		for _, t := range tries {
			if acct, ok := accounts.val.Lookup(t.local + "@" + domain); ok {
				return AccountMatch(acct, t.ext)
			}
		}
	}
	if d.passwd {
		for _, t := range tries {
			u, err := d.user(t.local)
			if err != nil {
				return Match{}, err
			}
			if u != nil {
				return Match{Kind: SystemUser, User: u, Extension: t.ext}, nil
			}
		}
	}
	return Match{}, nil
}

// Authenticate checks a virtual account's password. It takes as long for
// an unknown user as for a wrong password, so that timing does not tell
// which accounts exist.
func (d *Directory) Authenticate(user, password string) (*account.Account, bool) {
	d.refresh()
	d.mu.Lock()
	accounts := d.accounts
	d.mu.Unlock()
	if accounts == nil || accounts.val == nil {
		// No accounts at all: still spend the time of a password check.
		empty, _ := account.Parse(strings.NewReader(""), "")
		return empty.Authenticate(user, password)
	}
	return accounts.val.Authenticate(strings.ToLower(user), password)
}

// Account returns the virtual account for addr, if there is one.
func (d *Directory) Account(addr string) (*account.Account, bool) {
	d.refresh()
	d.mu.Lock()
	accounts := d.accounts
	d.mu.Unlock()
	if accounts == nil || accounts.val == nil {
		return nil, false
	}
	return accounts.val.Lookup(strings.ToLower(addr))
}

// user looks a system user up, caching answers for a minute: the user
// database is a file scan per lookup.
func (d *Directory) user(name string) (*daemon.User, error) {
	if name == "" || strings.ContainsAny(name, "/:") {
		return nil, nil
	}
	d.mu.Lock()
	e, ok := d.userCache[name]
	d.mu.Unlock()
	if ok && d.now().Sub(e.when) < time.Minute {
		return e.u, nil
	}
	u, err := daemon.LookupUser(name)
	if err != nil {
		var unk user.UnknownUserError
		if errors.As(err, &unk) {
			u, err = nil, nil
		} else {
			return nil, fmt.Errorf("look up user %q: %w", name, err)
		}
	}
	d.mu.Lock()
	d.userCache[name] = userEntry{u, d.now()}
	d.mu.Unlock()
	return u, nil
}

// refresh rereads the aliases and accounts files if they changed, looking
// at most once per CheckEvery. Lookups meanwhile use the previous tables.
func (d *Directory) refresh() {
	d.mu.Lock()
	now := d.now()
	if d.every > 0 && now.Sub(d.checked) < d.every {
		d.mu.Unlock()
		return
	}
	d.checked = now
	d.mu.Unlock()
	d.load()
}

// load (re)reads the files that changed since the last load.
func (d *Directory) load() {
	d.mu.Lock()
	if d.checked.IsZero() {
		d.checked = d.now()
	}
	old, oldAcct, oldLogins := d.aliases, d.accounts, d.logins
	d.mu.Unlock()

	fresh := reloadAll(d.aliasPaths, old, d.log, alias.Load)
	acct := oldAcct
	if d.acctPath != "" {
		acct = reload(d.acctPath, oldAcct, d.log, account.Load)
	}
	logins := reloadAll(d.loginPaths, oldLogins, d.log, LoadLoginMap)
	d.mu.Lock()
	d.aliases, d.accounts, d.logins = fresh, acct, logins
	d.mu.Unlock()
}

// reloadAll reloads a list of files of one kind.
func reloadAll[T comparable](paths []string, old []*loaded[T], log *maillog.Logger, load func(string) (T, []error)) []*loaded[T] {
	var fresh []*loaded[T]
	for i, p := range paths {
		var prev *loaded[T]
		if i < len(old) && old[i].path == p {
			prev = old[i]
		}
		fresh = append(fresh, reload(p, prev, log, load))
	}
	return fresh
}

// reload parses path again if its mtime or size changed. Problems are
// logged; a file that cannot be read keeps its previous contents, and a
// missing file is empty (a fresh system may have no aliases).
func reload[T comparable](path string, prev *loaded[T], log *maillog.Logger, load func(string) (T, []error)) *loaded[T] {
	st, err := os.Stat(path)
	if err != nil {
		if os.IsNotExist(err) {
			var zero T
			return &loaded[T]{path: path, size: -1, val: zero}
		}
		log.Warn("%s: %v", path, err)
		if prev != nil && prev.err == nil {
			return prev
		}
		return &loaded[T]{path: path, err: fmt.Errorf("%s: %w", path, err)}
	}
	var ino uint64
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		ino = sys.Ino
	}
	if prev != nil && prev.err == nil && prev.mtime.Equal(st.ModTime()) && prev.size == st.Size() && prev.ino == ino {
		return prev
	}
	val, errs := load(path)
	for _, e := range errs {
		log.Warn("%v", e)
	}
	var zero T
	if val == zero {
		// A read error (parse errors still give a table). Keep what was
		// there, without its mtime, so the next check reads the file again.
		if prev != nil && prev.err == nil && prev.val != zero {
			return &loaded[T]{path: path, size: prev.size, val: prev.val}
		}
		return &loaded[T]{path: path, err: fmt.Errorf("cannot read %s", path)}
	}
	return &loaded[T]{path: path, mtime: st.ModTime(), size: st.Size(), ino: ino, val: val}
}
