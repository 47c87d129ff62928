// Package spf evaluates the Sender Policy Framework (RFC 7208): may the
// client at an IP address send mail for the domain of its MAIL FROM
// reverse-path, or of its HELO name?
//
// A Checker runs check_host() on postern's resolver (libmail/dns):
// MailFrom checks the reverse-path (a null one as postmaster@ the HELO
// name, RFC 7208 §2.4), Helo the HELO name (§2.3). The Result carries
// the verdict by the names Authentication-Results uses, the domain that
// was checked (what DMARC aligns), the directive that decided, the
// domain's explanation of a fail, and a reason for the log.
//
// The whole of RFC 7208 is here: record selection (§4.5), every
// mechanism and modifier (§5, §6), macros (§7), explanations (§6.2),
// and the processing limits (§4.6.4: ten DNS-querying terms, two void
// lookups, ten MX records, ten PTR names, a time limit). A failure to
// get an answer (SERVFAIL, timeout, the time limit, a cancelled
// context) is TempError, never an error: the caller defers or accepts
// the mail, it never loses it. The OpenSPF test suite for RFC 7208
// (testdata/) passes in full, through an in-memory zone and through the
// wire client against a loopback server.
//
// # Why in libmail
//
// Message authentication sits on the shared resolver with DKIM and
// DMARC (DESIGN.md §7: libmail/{spf,dkim,dmarc,authres}). smtpd checks
// clients with it, and `postern dns check` evaluates a domain's own
// record with it for each of the server's addresses.
package spf
