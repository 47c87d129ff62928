// Package authres writes the Authentication-Results header field (RFC
// 8601) that records what postern found when it checked a message's
// SPF, DKIM and DMARC, and recognizes the fields, arriving with a
// message, that falsely claim to be postern's own.
//
// smtpd, at the end of DATA, writes one field with every result and
// prepends it to the queue entry; intake, reading the header, drops the
// incoming fields that Claims says are ours (RFC 8601 §5):
//
//	if authres.Claims(field, authservID) { drop it }          // each incoming field
//	f, err := authres.Field(authservID, authres.Results{SPF: ..., DKIM: ..., DMARC: ...})
//	w.Prepend(f)
//
// which gives, for a message that passed:
//
//	Authentication-Results: mx.example.net;
//		spf=pass smtp.mailfrom=example.com;
//		dkim=pass header.a=ed25519-sha256 header.b=Xg5qPp7Y header.d=example.com header.s=ed;
//		dmarc=pass (p=reject dis=none) header.from=example.com polrec.p=reject
//
// The authserv-id is myhostname or an id configured for it; it must be a
// token (CheckID). The properties are RFC 8601 §2.7's smtp.mailfrom and
// smtp.helo for SPF, header.d, header.i, header.s, header.a and header.b
// (RFC 6008) for DKIM, and RFC 7489 §11.2's header.from for DMARC, with
// the polrec.p and polrec.domain that IANA's registry adds and the
// "(p=... dis=...)" comment that Gmail and others write. Each result is
// formatted by github.com/emersion/go-msgauth/authres (Format); the
// values given to it are kept to what that package's Parse reads back
// unchanged and what Python's email package reads, which the tests
// check (FuzzField, TestFieldPython).
//
// # Why in libmail
//
// Only smtpd writes the field today, but the removal of forged ones
// belongs to libmail/intake's header processing, which every queue
// writer shares (smtpd and pickup), and DESIGN.md §7 keeps the message
// authentication packages, libmail/{spf,dkim,dmarc,authres}, together
// beside the intake stream they read.
package authres
