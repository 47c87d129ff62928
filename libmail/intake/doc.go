// Package intake takes a message into the queue: Postfix's cleanup step
// as a library, shared by every program that writes new mail into the
// queue (smtpd, and pickup for local submissions).
//
// A protocol layer creates a Writer for the queue entry (Create), feeds
// it the message bytes as they arrive, in pieces of any size (Write),
// and at the end of the message calls End, may Prepend header fields
// decided only then, and calls Commit:
//
//	w, err := intake.Create(spool, id, env, &cfg, &intake.Source{TLS: st, AddMissing: submission})
//	for each piece of the message { w.Write(piece) }    // never fails; End says why not
//	if err := w.End(); err != nil { w.Abort(); refuse }  // ErrBareLF, ErrNUL, ErrTooBig, ErrHops, or a write error
//	w.Prepend("Authentication-Results: ...")             // optional
//	if err := w.Commit(); err != nil { 451 }              // durable: now 250
//
// What the Writer does, in one pass over the bytes, without a second
// read:
//
//   - Line ends. SMTP sources (StrictCRLF) must end every line in CRLF
//     (RFC 5321 §2.3.8): a bare CR or LF anywhere refuses the message, so
//     SMTP smuggling sequences mean nothing downstream. Local sources (LF)
//     may end lines in LF or CRLF; both are stored as CRLF. A NUL, or
//     more bytes than message_size_limit, refuses the message too. After
//     the first problem the bytes are only counted, so the caller reads
//     on to the end of the message and answers once.
//   - Received:. Create writes the trace field first (RFC 5321 §4.4), in
//     Postfix's layout, from the envelope: HELO name, client, TLS, the
//     WITH keyword (ESMTP, ESMTPS, ESMTPA, ESMTPSA of RFC 3848; UTF8SMTP,
//     UTF8SMTPS, UTF8SMTPA, UTF8SMTPSA of RFC 6531 §3.7.3 when the
//     transaction used SMTPUTF8), queue ID, the recipient if there is
//     only one, and the arrival time.
//   - header_size_limit. The header section is held back until its end
//     is known; one longer than the limit is ended after its last whole
//     line within it with an inserted empty line, so the rest is body
//     and no byte is dropped (see collect).
//   - Hops. Received: fields, the added one included, are counted; more
//     than hopcount_limit (50) refuses the message as a loop.
//   - Date:, Message-ID: and From:. For a submission or local mail
//     (Source.AddMissing) the fields the message lacks are added at the
//     end of its header, as Postfix's cleanup does: Date: the arrival in
//     the server's zone, Message-ID: <queue ID@myhostname>, and, for
//     local mail, the From: pickup gives (Source.From). RFC 6409 §8.2
//     and §8.3 let a submission server add them; RFC 5321 §6.4 forbids a
//     relay to. smtpd sets AddMissing for authenticated sessions (or for
//     all, with always_add_missing_headers), never for plain relay or MX
//     traffic on port 25. A field that is present, even empty, is never
//     added twice.
//   - Taps (Tap). Consumers that must see the message, a DKIM verifier
//     (dkim.Verifier) for one, get each header field and the body bytes
//     as they stream by, once, in stored (CRLF) form. No taps, no cost.
//     A tap that holds resources until End also hears Abort (Aborter).
//   - DKIM signing. A source whose sender the server vouches for
//     (Source.Sign: authenticated clients, mynetworks, local mail) is
//     signed with the keys of its From: domain (Config.DKIM,
//     dkim_signing_keys) by a dkim.Signer on the taps, which hashes the
//     body as it streams by; End prepends the DKIM-Signature fields. The
//     signature covers the message as stored, the fields intake adds
//     included; Received: is not among the signed fields.
//   - Headers decided after the body. Authentication-Results: and
//     DKIM-Signature: are known only when the message is in, after it
//     has been streamed to disk. Prepend hands them to the queue entry,
//     which stores them in the same commit, fsynced with it, and whose
//     one reader (queue.Entry.Message) shows them above the message: the
//     message is still written once and read once.
//
// # Why in libmail
//
// smtpd and pickup (local submissions, LF line ends) take mail in, and
// the message-authentication work taps the same stream. Each queue writer must take mail in exactly the
// same way (the same header cut, hop count and Received: field), so the
// code lives here from the start rather than being copied out of smtpd
// later.
package intake
