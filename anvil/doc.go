// Package anvil is postern's connection and rate counter, after
// Postfix's anvil(8).
//
// # Role
//
// Every smtpd process, whatever service it serves (smtp, submission,
// submissions, and each of a service's process_limit processes), reports
// its clients' events here over one long-lived connection (the channel
// libmail/ipc/anvil): a connection and its end, a MAIL FROM and a RCPT
// TO about to be accepted, an AUTH command and a failed AUTH. anvil
// counts them per client, an IPv4 address or an IPv6 /64, and per
// authenticated user, and answers each with the counts after it: the
// connections open now and the events within the current time unit
// (anvil_rate_time_unit). smtpd compares them with its limits; anvil
// itself knows no limit, so that a service's own overrides apply to its
// clients while the counts are shared by all.
//
// A client connection belongs to the smtpd connection that reported it
// (Owner): when that closes, because smtpd stopped or crashed, anvil
// gives its clients' connections back, so a dead process's clients never
// count for ever. The counters live in memory only: a restarted anvil
// starts from zero, which lets clients in, never keeps them out.
//
// # Runs as
//
// mail_owner.
//
// # Talks to
//
// smtpd, through private/anvil (events in, counts out). Nothing else.
//
// # Files
//
// None but its socket. Manual page: anvil(8).
package anvil
