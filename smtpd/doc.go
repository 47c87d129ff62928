// Package smtpd is postern's SMTP server: the MX on port 25, submission on
// 587 (STARTTLS) and 465 (implicit TLS).
//
// # Role
//
// It speaks SMTP with its own small protocol layer (docs/architecture.md
// says why not go-smtp); its replies are the type the outbound client
// reads (libmail/esmtp.Reply), written in the same wire form. It decides
// policy:
// relay control (local domains accepted; other destinations only for
// clients in mynetworks or authenticated ones, otherwise 554 5.7.1 Relay
// access denied), unknown local recipients refused at RCPT with 550 5.1.1,
// Postfix's limits (message size, recipients, timeouts), and the client
// and user limits counted by anvil across processes (connections, mail,
// recipients, AUTH failures, with a growing wait after each failed
// AUTH; limits.go). Only CRLF "." CRLF ends DATA. The message itself
// goes through libmail/intake, the queue writers' shared cleanup step:
// strict CRLF (a
// bare LF or CR rejects it, so the SMTP smuggling sequences can never end
// a message early), the size, header_size_limit and hop checks, the
// Received: header, and for authenticated sessions (submission) the Date:
// and Message-ID: a message lacks. smtpd writes the queue entry itself,
// streaming the message to disk, and answers 250 only once the entry and
// its directory are fsynced; sessions that finish DATA together share the
// directory fsync. Then it wakes qmgr.
//
// Unlike Postfix's smtpd, one process serves many connections: Go's
// netpoller (epoll) carries them. The service's process_limit counts
// processes, and smtpd_process_connection_limit protects each process's
// memory. At that limit the process is under stress (stress.go), as a
// Postfix service at its process limit: shorter timeouts and error
// limits, and each new client takes the place of the session that has
// waited longest for a command outside a transaction, so idle
// connections cannot keep clients out. Each session is a connection
// boundary (boundary.go): it has a context that its lookups use, and a
// panic in it ends that session alone, with 421.
//
// # Runs as
//
// mail_owner, with the listening sockets inherited from the master. A
// Unix socket among them (the smtpd service, private/smtpd) is where
// postscreen passes the clients it screened on port 25 (pass.go).
//
// # Talks to
//
// Clients over TCP; qmgr through public/qmgr (wake-ups); anvil through
// private/anvil (its clients' events, for the limits that hold across
// processes and ports: limits.go); the spool's tmp/
// and incoming/ directories; the aliases and accounts files (to know local
// recipients and to check passwords).
//
// # Files
//
// The queue, aliases (alias_maps), accounts (accounts_file), the TLS
// certificate and key. Manual page: smtpd(8).
package smtpd
