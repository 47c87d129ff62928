// Package login is the privilege-separated front that imapd and pop3d
// share, split as Dovecot splits its roles:
//
//   - The login role (Server, Client) talks to clients that have not
//     logged in: TLS (STARTTLS/STLS, RFC 2595, and the implicit TLS of
//     ports 993 and 995, RFC 8314), the commands allowed before login,
//     and the password exchange (libmail/sasl). It runs as mail_owner and
//     can open no mailbox (Maildirs belong to their owners, 0700). A
//     Protocol (imapd's, pop3d's) speaks the words; the Client is the
//     login state, which holds no mailbox.
//   - The session service (SessionService) runs as mail_owner with the
//     setuid and setgid capabilities, as local does. It hears each login
//     on the handoff channel (libmail/ipc/handoff) with the client's
//     connection passed along, checks the credentials against the
//     accounts (libmail/recipient, the accounts submission uses), finds
//     the mailbox where local delivers (recipient.MaildirRoot) and its
//     owner, and starts the session process as that owner
//     (daemon.CommandAs) with the connection inherited.
//   - The session process (ChildMain) runs a protocol's Handoff: the
//     authenticated session on the mailbox. It sends the tagged OK (IMAP)
//     or +OK (POP3) itself, once it has opened the mailbox.
//
// A plaintext client's own socket is passed, so the login process lets
// go of it. TLS state cannot be passed, so for a TLS client the login
// process passes one end of a socket pair and copies between the TLS
// connection and the other end for the rest of the session. Bytes the
// login process had already read past the login command go along in the
// handoff request, and the session reads them first.
//
// Limits, as smtpd's, are counted by anvil across processes and services
// (libmail/ipc/anvil): connections per client, failed logins per client
// (with smtpd's failed AUTHs), and a wait before each failure's answer
// that doubles with every failure. Each failure and each limit is one
// log line in the form conf/fail2ban/postern.conf matches.
//
// # Why in libmail
//
// imapd and pop3d both run it, each with its own Protocol and Handoff.
package login
