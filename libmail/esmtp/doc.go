// Package esmtp is the SMTP protocol as both sides speak it (RFC 5321
// with the extensions postern uses): the Reply type smtpd writes and the
// client reads, and the client session the smtp agent delivers through.
//
// The name is the protocol's: ESMTP is SMTP with the service extensions
// (RFC 5321 §2.2), which every reply and command here is about. It is not
// "smtp" because that is the delivery agent's package (and net/smtp's),
// and not "smtpclient" because the reply type is shared with smtpd.
//
// # Replies
//
// A Reply is a code, the RFC 3463 enhanced status code and the text,
// one or more lines. smtpd builds its replies as Replies and writes them
// with Append; the client reads the servers' replies into the same type,
// so what one side writes the other reads back as the same value
// (FuzzParseReply checks it): continuation lines marked with '-', the
// enhanced code on every line as RFC 2034 servers write it. Reading is
// strict where a pipelined session could lose its place (one code per
// reply, no CR inside a line) and bounded where a hostile server could
// make the client grow: at most 256 lines of 4 KB are read, about 2 KB
// is kept, and String, through which every log line, queue record and
// DSN quotes a reply, renders at most MaxReplyText bytes.
//
// # The client
//
// A Client is one session with one server address: Dial (TCP within the
// connect timeout), Greet (the greeting, EHLO, or HELO for a server that
// refuses EHLO), StartTLS (the upgrade and EHLO again; which servers
// need TLS and how their certificates are checked is the caller's
// policy, given as the tls.Config), Auth (RFC 4954 AUTH with a
// libmail/sasl Client: the initial response when it fits the 512-octet
// command line, a response per 334 challenge, "*" to a challenge past
// the mechanism's end; whether to authenticate, and only inside TLS, is
// the caller's policy), then Send for each transaction, and Quit. Send
// writes MAIL FROM with the parameters the server announced (SIZE,
// BODY=8BITMIME, SMTPUTF8, RET and ENVID), every RCPT TO (NOTIFY,
// ORCPT) and DATA in one write when the server offers PIPELINING (RFC
// 2920), one command at a time otherwise, and returns one Answer per
// recipient. Paths are written in RFC 5321 form through
// address.AppendPath, where the quoting lives: a local part that is not
// a Dot-string is quoted, so no address can end its path early and add
// parameters. The message streams through the caller's Data function
// into a writer that dot-stuffs it (RFC 5321 §4.5.2) and breaks lines
// longer than Config.LineLimit with CRLF SPACE, as Postfix's smtp does,
// passing whole lines through in runs, with no allocation. Each phase has its own timeout
// (Timeouts, Postfix's smtp_*_timeout); Abort ends every wait at once
// when a delivery is cancelled. Errors say what failed in Postfix's
// words: *ConnectError, *Refusal (a non-2xx greeting, EHLO, STARTTLS,
// or a final reply to AUTH other than 235), *AuthLoopError,
// *HandshakeError and *IOError (the connection or the server's grammar;
// the session is broken afterwards).
//
// The client takes no decision about mail: routing, TLS policy, which
// message content a server without 8BITMIME gets, what a reply means for
// a recipient and whether a session is cached are the smtp agent's.
// There is no BDAT (CHUNKING): a BINARYMIME message goes as 8BITMIME, as
// Postfix sends it.
package esmtp
