// Package qmgr is postern's queue manager, the only scheduler.
//
// # Role
//
// qmgr takes entries from incoming/ (when smtpd or local wakes it, and on
// a timer, so a lost wake-up only delays mail), moves them to active/,
// routes each recipient to a transport (a delivery service of the
// service table: local domains to local_transport, other destinations to
// default_transport, the outbound smtp agent, unless transport_maps says
// otherwise), and hands deliveries to the
// agents over long-lived, pipelined connections. From the agents' results
// it removes finished entries, defers the rest with Postfix's backoff
// (minimal_backoff_time doubling up to maximal_backoff_time, retried on
// queue_run_delay scans) until maximal_queue_lifetime, and returns
// failures to the sender as delivery status notifications. On start it
// moves everything in active/ back to incoming/: whatever a previous qmgr
// had in hand is scheduled again, minus the recipients already recorded
// as done.
//
// # Following one entry
//
// One file per stage, in the order an entry meets them:
//
//   - run.go: the loop. A wake-up or a scan of incoming/ (or of deferred/
//     when an entry is due, or on postern flush, flush.go) calls take.
//   - manager.go: take moves the entry into active/ and reads it.
//   - dispatch.go: dispatch routes each recipient still to do (route.go:
//     transport_maps, local domains, relayhost, default_transport; a
//     transport is a delivery service of the service table) and groups
//     them into requests per transport and next hop; remote requests
//     wait for their destination's window (dest.go), local ones go at
//     once; agent.go writes them to the agent's connection.
//   - dispatch.go: reply takes the agent's answer (the agent recorded the
//     results in the entry first); agent.go's lost handles a connection
//     that broke instead.
//   - finish.go: when nothing is in flight, finish rereads the entry and
//     decides: removed, bounced (bounce.go), deferred with backoff, or
//     expired (after maximal_queue_lifetime, or at once when postern queue
//     expire appended its record; dispatch then offers it to no agent).
//
// # Runs as
//
// mail_owner.
//
// # Talks to
//
// smtpd, local and the admin command through public/qmgr (wake-ups in);
// the delivery agents through their services' sockets, private/local and
// private/smtp by default (requests out, results in); the spool.
//
// # Files
//
// The queue directories. Manual page: qmgr(8).
package qmgr
