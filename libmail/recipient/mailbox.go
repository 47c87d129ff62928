package recipient

import (
	"path/filepath"

	"postern.dev/postern/libmail/address"
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/mailbox"
)

// MaildirRoot is where the Maildir of an account or a system user is:
// a virtual account's home when its line names one, else
// virtualBase/domain/localpart; a system user's homeMailbox under the
// home directory. local delivers there and imapd and pop3d serve the
// same place, so both ask here. It returns "" for other kinds.
func MaildirRoot(m Match, virtualBase, homeMailbox string) string {
	switch m.Kind {
	case Account:
		if m.Account.Home != "" {
			return m.Account.Home
		}
		local, domain := address.Split(m.Account.Address)
		return filepath.Join(virtualBase, domain, local)
	case SystemUser:
		return filepath.Join(m.User.Home, homeMailbox)
	}
	return ""
}

// MaildirOwner is the user a mailbox belongs to: vmail (vmail_user, or
// whoever local runs as when it cannot switch users) for a virtual
// account, the user for a system user.
func MaildirOwner(m Match, vmail *daemon.User) *daemon.User {
	if m.Kind == SystemUser {
		return m.User
	}
	return vmail
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
