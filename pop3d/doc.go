// Package pop3d is the POP3 protocol (RFC 1939, with CAPA, RESP-CODES,
// PIPELINING and AUTH-RESP-CODE from RFC 2449) on the mailbox store:
// the TRANSACTION and UPDATE states of a session whose client the login
// front has already authenticated. Serve takes the connection and the
// account's mailbox.Store.
//
// # Role
//
// Dovecot splits POP3 into pop3-login (the unauthenticated client: TLS,
// STLS per RFC 2595, USER/PASS only over TLS, AUTH PLAIN per RFC 5034)
// and a pop3 process running as the mailbox owner. postern splits it the
// same way: the login front (shared with imapd) does the AUTHORIZATION
// state and starts the session process as the owner, which calls Serve.
// Serve answers the successful login itself ("+OK Logged in.", or
// "-ERR [IN-USE]" when another POP3 session holds the maildrop), because
// only the owner's process can open and lock it. cmd/pop3d runs one such
// session on its standard input and output for a Maildir named with -m,
// as the session process and for testing by hand.
//
// # Runs as
//
// The mailbox owner: the system user, or vmail_user for virtual
// accounts. It never sees a password and never runs as root.
//
// # Talks to
//
// One authenticated POP3 client, on the connection the login front hands
// over (or standard input and output). Nothing else; the mailbox is the
// files of the account's Maildir, through libmail/mailbox.
//
// # Files
//
// The account's Maildir: INBOX's new/, cur/ and postern-index, and
// postern-pop3.lock, the one-session lock. Manual page: pop3d(8).
//
// # Behaviour
//
// The maildrop is INBOX when the session starts; one POP3 session per
// account at a time (mailbox.Store.Exclusive, a flock(2) in the Maildir,
// so it holds across processes). DELE only marks; at QUIT (UPDATE state)
// the marked messages are expunged and the retrieved ones flagged \Seen,
// as Dovecot does; a dropped connection changes nothing. Sizes (STAT,
// LIST, RETR) are the CRLF sizes the store records, so they match what
// RETR sends before dot-stuffing. UIDL is the message's UID and the
// folder's UIDVALIDITY as sixteen hex digits, Dovecot's
// pop3_uidl_format %08Xu%08Xv: stable across sessions, the same message
// IMAP shows, and changed only when the store must rebuild its index
// (when IMAP clients resynchronize as well). Commands are limited as RFC
// 2449 §4 says (255 octets a line, 40 an argument); 20 bad commands end
// the session; the idle timeout is 10 minutes (RFC 1939 §3).
package pop3d
