package account

// Account is one line of an accounts file.
type Account struct {
	// Address is the account's address, local@domain, in lower case.
	Address string
	// Home is the home directory field (the sixth), empty if not set. When
	// set it is an absolute path and the root of the account's Maildir.
	Home string
	// UID and GID are the third and fourth fields as written, possibly
	// empty; Dovecot accepts names as well as numbers there.
	UID, GID string
	// Extra is the extra_fields field (the eighth and everything after it)
	// as written, for settings meant for Dovecot.
	Extra string

	pw password
}

// Verify reports whether password is the account's password. An empty
// password never matches, whatever the file says, so that an empty
// {PLAIN} field or a client that sends nothing cannot log in; an account
// with an empty password field never matches either.
func (a *Account) Verify(password string) bool {
	if password == "" {
		return false
	}
	return a.pw.verify(password)
}

// CanLogIn reports whether the account has a password at all.
func (a *Account) CanLogIn() bool { return a.pw.scheme != noPassword }

// Scheme names how the account's password is stored, as the file spells
// the scheme in Dovecot's canonical name (ARGON2ID, BLF-CRYPT, PLAIN), or
// "" when it has none: `postern user list` shows which accounts still
// wait for a stronger hash.
func (a *Account) Scheme() string {
	switch a.pw.scheme {
	case schemeArgon2:
		return "ARGON2ID"
	case schemeBcrypt:
		return "BLF-CRYPT"
	case schemePlain:
		return "PLAIN"
	}
	return ""
}
