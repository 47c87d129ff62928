// Package showq is postern's queue lister, after Postfix's showq(8): it
// lets any local user see what waits in the queue (`postern queue list`,
// and so sendmail -bp and mailq), though the queue directories are
// private to mail_owner.
//
// # Role
//
// For each connection on public/showq (the channel libmail/ipc/showq),
// it reads the one request, scans the queues it names (incoming, active,
// deferred, hold; never tmp/) with queue.Spool.Scan, and answers with one
// summary per entry (envelope addresses, size, arrival, each recipient's
// status and delay reason) and an end frame. It never sends a message's
// contents, changes nothing and keeps no state, so the socket can be
// open to every local user (mode 0666), as Postfix's public/showq is.
// Each connection gets its own goroutine; a client that stops reading
// holds only its own.
//
// # Runs as
//
// mail_owner.
//
// # Talks to
//
// `postern queue list` and `postern queue shape`, through public/showq.
// Nothing else.
//
// # Files
//
// The queue directories, read only. Manual page: postern(1), "queue".
package showq
