// Package account reads the virtual mail accounts file: one account per
// line in the layout of Dovecot's passwd-file, so that one file can serve
// both the MTA and Dovecot.
//
// A line is "user:password:uid:gid:gecos:home:shell:extra_fields". Only the
// first two fields are required and trailing fields may be left out. The
// extra fields are everything after the seventh colon, so they may contain
// colons themselves, as Dovecot's userdb_mail=maildir:~/Maildir does; no
// other field can contain a colon. Blank lines and lines whose first
// non-blank character is '#' are ignored.
//
// The user must be a full address, local@domain. The whole address is
// matched without regard to case and stored in lower case. RFC 5321
// section 2.4 allows a host to treat local parts as case-sensitive, but
// doing so would let Demo@ and demo@ be two different mailboxes, which
// surprises users and invites impersonation, so this package folds them
// together. Whether Dovecot matches the same way depends on its
// configuration (auth_username_format), so a file shared with Dovecot is
// best written in lower case, where both agree.
//
// The password is written "{SCHEME}data" as in Dovecot. The schemes
// understood are ARGON2ID, BLF-CRYPT and BCRYPT (one scheme under two
// names), and PLAIN and CLEARTEXT (for tests). A line with an unknown
// scheme, or with data its scheme cannot read, is an error when the file is
// loaded rather than a login that silently never works. Unlike Dovecot,
// which takes a password without a scheme to be CRYPT, this package
// requires the scheme, so that a plaintext password pasted without one is
// an error rather than a hash that never matches. An empty password field
// loads, and its account can receive mail but never log in. Logins should
// go through File.Authenticate, which spends as long on an unknown address
// as on a known one.
//
// Every problem is reported as a *ParseError naming the file and line, and
// the File holds every account that had none; the caller decides what is
// fatal. An address defined twice keeps its first definition and the later
// one is reported with ErrDuplicate.
package account
