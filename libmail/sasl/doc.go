// Package sasl is the SASL mechanisms postern uses for password logins,
// PLAIN (RFC 4616) and LOGIN (the de-facto mechanism of
// draft-murchison-sasl-login), on both sides, as the line protocols
// carry them: SMTP AUTH (RFC 4954), IMAP AUTHENTICATE with SASL-IR (RFC
// 9051 §6.2.2, RFC 4959) and POP3 AUTH (RFC 5034). The three frame an
// exchange alike: an optional initial response on the command line ("="
// for an empty one), challenges and responses in base64, one line each,
// and "*" from the client to abort.
//
// The mechanisms do no I/O. A Server is told the mechanism the client named and
// each line the client sent; it answers with the challenge to send,
// already base64-encoded (for "334 " in SMTP, "+ " in IMAP and POP3), or
// with the credentials once the exchange is complete. The protocol layer
// reads and writes the lines, maps the errors to its replies (each is one
// of the sentinels ErrMechanism, ErrAborted, ErrEncoding, ErrMalformed)
// and checks the password.
//
// A Client is the other side, for the smtp agent authenticating to a
// relay host: it gives the initial response and the line that answers
// each challenge. The client's credentials file (smtp_sasl_password_maps,
// Postfix's format: "NEXTHOP USERNAME:PASSWORD" per line) is read here
// too (ParsePasswords), so that the agent and `postern check` read it
// alike.
//
// github.com/emersion/go-sasl, which the design names as an option, is
// not used: its server side has no LOGIN (only a client), and its PLAIN
// server reports every malformed message with one unexported error, so a
// protocol layer could not tell a client that sent bad base64 from one
// that sent a bad PLAIN message, which SMTP answers differently (501 and
// 535). What is needed is the small state machine here. Its clients are
// not used either: its PLAIN client cannot answer a challenge, which a
// client that leaves out an initial response too long for the AUTH line
// must (RFC 4954 §4), and the encoding is a few lines.
//
// # Why in libmail
//
// smtpd decodes its clients' logins with it and smtp encodes its own;
// postern checks the credentials file. imapd and pop3d, which will take
// the same PLAIN and LOGIN logins, will share it too.
package sasl
