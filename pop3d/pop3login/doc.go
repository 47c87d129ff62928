// Package pop3login is pop3d's login role: the POP3 words of the
// AUTHORIZATION state (RFC 1939 §4), spoken by the login process of
// libmail/login, which runs as mail_owner and can open no mailbox.
//
// It answers CAPA (RFC 2449), STLS (RFC 2595), USER and PASS, AUTH
// PLAIN and LOGIN (RFC 5034), NOOP and QUIT. Passwords are taken only
// under TLS: before it, CAPA lists neither USER nor SASL, and USER,
// PASS and AUTH get -ERR [AUTH] (unless login_plaintext_auth), as
// Dovecot answers. A login that holds is handed to the session service
// with the client, and the session process, running as the mailbox's
// owner, sends the +OK.
package pop3login
