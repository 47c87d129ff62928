package recipient

import (
	"fmt"
	"path/filepath"
	"strconv"

	"postern.dev/postern/libmail/account"
	"postern.dev/postern/libmail/address"
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/mailbox"
)

// MaildirRoot is where the Maildir of an account or a system user is:
// an account's home when its line names one; else, for an account whose
// line names a system user (AccountOwner), that user's homeMailbox
// under the home directory, and for other accounts
// virtualBase/domain/localpart; a system user's homeMailbox under the
// home directory. local delivers there and imapd and pop3d serve the
// same place, so both ask here. It returns "" for other kinds.
func MaildirRoot(m Match, virtualBase, homeMailbox string) string {
	switch m.Kind {
	case Account:
		if m.Account.Home != "" {
			return m.Account.Home
		}
		if m.User != nil {
			return filepath.Join(m.User.Home, homeMailbox)
		}
		local, domain := address.Split(m.Account.Address)
		return filepath.Join(virtualBase, domain, local)
	case SystemUser:
		return filepath.Join(m.User.Home, homeMailbox)
	}
	return ""
}

// MaildirOwner is the user a mailbox belongs to: the user for a system
// user and for an account whose line names one (AccountOwner), vmail
// (vmail_user, or whoever local runs as when it cannot switch users) for
// other accounts.
func MaildirOwner(m Match, vmail *daemon.User) *daemon.User {
	if m.User != nil && (m.Kind == SystemUser || m.Kind == Account) {
		return m.User
	}
	return vmail
}

// AccountOwner is the system user an account's line names in its uid
// field (the third, as in Dovecot's passwd-file userdb: a name or a
// number), or nil when the field is empty. Such an account's mail is
// that user's: delivered into and served from the user's Maildir as the
// user, so that a system user reads mail over IMAP and POP3 with a
// password from the accounts file (system passwords stay PAM's). The
// user's own group is used; root is refused.
func AccountOwner(a *account.Account) (*daemon.User, error) {
	if a.UID == "" {
		return nil, nil
	}
	var u *daemon.User
	var err error
	if n, nerr := strconv.Atoi(a.UID); nerr == nil {
		u, err = daemon.LookupUID(n)
	} else {
		u, err = daemon.LookupUser(a.UID)
	}
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", a.Address, err)
	}
	if u.UID == 0 {
		return nil, fmt.Errorf("account %s: names root as its owner", a.Address)
	}
	return u, nil
}

// AccountMatch is the match of an account, with its owner resolved.
func AccountMatch(a *account.Account, ext string) (Match, error) {
	u, err := AccountOwner(a)
	if err != nil {
		return Match{}, err
	}
	return Match{Kind: Account, Account: a, User: u, Extension: ext}, nil
}

// MailboxQuota is the storage limit of the mailbox of m, in bytes (0:
// none): the account's own quota rule (Dovecot's
// userdb_quota_rule=*:storage=SIZE in the extra fields) when its line has
// one, else mailbox_quota. local enforces it and imapd and pop3d report
// and enforce the same number.
func MailboxQuota(m Match, global int64) int64 {
	if m.Kind == Account {
		if q, ok := mailbox.ParseQuotaRule(m.Account.Extra); ok {
			return q
		}
	}
	return global
}
