// Package imaplogin is imapd's login role: the IMAP words (RFC 3501,
// RFC 9051) of the not-authenticated state, spoken by the login process
// of libmail/login, which runs as mail_owner and can open no mailbox.
//
// It answers CAPABILITY, NOOP, LOGOUT, STARTTLS (RFC 2595), ID (RFC
// 2971), LOGIN, and AUTHENTICATE PLAIN and LOGIN with SASL-IR (RFC
// 4959). Passwords are taken only under TLS: before it, CAPABILITY says
// LOGINDISABLED and lists no AUTH=, and LOGIN and AUTHENTICATE get NO
// [PRIVACYREQUIRED] (unless login_plaintext_auth). A login that holds is
// handed to the session service with the client, and the session
// process, running as the mailbox's owner, sends the tagged OK.
//
// The command reader (command.go) is small on purpose: tags, atoms,
// quoted strings, literals (synchronizing, and LITERAL+'s
// non-synchronizing ones) and parentheses, enough for the commands
// above. The full IMAP parser belongs to the authenticated session.
package imaplogin
