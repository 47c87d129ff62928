// Package smtp is postern's outbound SMTP delivery agent, Postfix's
// smtp(8).
//
// # Role
//
// smtp delivers the recipients qmgr routes to a remote nexthop: a domain
// (MX lookup), "domain:port" (MX lookup, another port) or "[host]" and
// "[host]:port" (no MX lookup). It finds the servers (MX records by
// preference, shuffled among equals; the domain's addresses when it has
// no MX; a null MX fails at once; the servers no better than this
// machine are dropped, so a backup MX never sends mail to itself), and
// tries them address by address until one holds a session: a refused or
// timed-out connection, a 4xx or 5xx greeting, or a failed TLS
// requirement moves on to the next. It speaks SMTP through postern's own
// client, package libmail/esmtp (not go-smtp's, which cannot pipeline and
// says EHLO localhost): EHLO with smtp_helo_name (HELO for servers that
// refuse it), STARTTLS, then MAIL, every RCPT and DATA in one write when
// the server offers PIPELINING, with SIZE, BODY=8BITMIME, SMTPUTF8 and
// the DSN parameters (RET, ENVID, NOTIFY, ORCPT) where the server
// supports them. Paths are written in RFC 5321 form (address.AppendPath:
// a local part that is not a dot-string is quoted), so no address can
// add parameters. The message streams from the queue file, dot-stuffed
// through a 64 KiB buffer, never held in memory; lines over
// smtp_line_length_limit are broken with CRLF SPACE, as Postfix does.
// What the session sends is the agent's choice: a server without
// 8BITMIME gets 8-bit MIME converted to quoted-printable (package
// smtp/downgrade, applied on the way into the session's data writer), or
// a 5.6.3 return where that is impossible, unless
// disable_mime_output_conversion is set. Each recipient gets the server's
// verdict: 2xx sent, 5xx failed, 4xx deferred (and a recipient a server
// defers is offered to the next server, as Postfix does, so a backup MX
// can take it).
//
// TLS follows smtp_tls_policy_maps, else smtp_tls_security_level: none;
// may (STARTTLS when offered, the certificate not checked, and a failed
// handshake retried in plaintext); encrypt; verify (the certificate must
// chain to the system's roots or smtp_tls_CAfile and name the server);
// dane (RFC 7672: where the MX records, the server's addresses and its
// TLSA records are DNSSEC-validated, the certificate must match them,
// checked by package smtp/dane; may elsewhere). MTA-STS (RFC 8461,
// package smtp/mtasts) applies when smtp_mta_sts_enable is on and no
// policy entry names the destination: in enforce mode only the MX hosts
// the policy lists are used, with verified TLS.
//
// With smtp_sasl_auth_enable, a nexthop that has credentials in
// smtp_sasl_password_maps (Postfix's "NEXTHOP USERNAME:PASSWORD" file,
// looked up as written, without its port, a [host] as host; reread when
// it changes, and not used while it has errors) gets RFC 4954 AUTH with
// PLAIN or LOGIN after EHLO, when the server offers it: inside TLS only
// unless smtp_sasl_security_options drops noplaintext, so a session
// without TLS defers the mail before AUTH (4.7.0) and a stripped
// STARTTLS never yields the password. A refused login defers with the
// server's reply ("SASL authentication failed; server X said: 535 ...",
// as Postfix logs it), tries the next server, and marks the destination
// unreachable. A server that offers no AUTH gets the mail without, as
// from Postfix.
//
// A session that finished cleanly is kept for
// smtp_connection_cache_time_limit for the next request to the same
// nexthop, TLS level and login (checked with RSET first) and is not
// reused once older than smtp_connection_reuse_time_limit. At most
// smtp_delivery_concurrency requests are in progress at once.
//
// Like local, smtp records every result in the queue entry (fsynced)
// before it answers qmgr, and removes an entry itself when it delivered
// all of it. It tells qmgr when no server of a nexthop could be reached
// (delivery.Reply.Unreachable), so that qmgr holds back the destination.
//
// Loop detection departs from Postfix, which compares addresses only
// and only at port 25: here a server is this machine when its name is
// myhostname or its address is one of this machine's, and its port is
// one an inet service of postern listens on (Self). Mail for another
// port on this machine, such as a content filter, is not a loop.
//
// # Runs as
//
// mail_owner, with no privileges: it reads and appends to queue files
// and opens outbound connections.
//
// # Talks to
//
// qmgr through private/smtp (delivery requests in, results out); the
// name servers in dns_servers (or resolv.conf); remote SMTP servers;
// mta-sts.<domain> over HTTPS for MTA-STS policies.
//
// # Files
//
// The queue; smtp_tls_CAfile; smtp_sasl_password_maps. Manual page:
// smtp(8).
package smtp
