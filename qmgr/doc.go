// Package qmgr is postern's queue manager, the only scheduler.
//
// # Role
//
// qmgr takes entries from incoming/ (when smtpd or local wakes it, and on
// a timer, so a lost wake-up only delays mail), moves them to active/,
// routes each recipient to a transport (local domains to local; other
// destinations to the outbound smtp agent), and hands deliveries to the
// agents over long-lived, pipelined connections. From the agents' results
// it removes finished entries, defers the rest with Postfix's backoff
// (minimal_backoff_time doubling up to maximal_backoff_time, retried on
// queue_run_delay scans) until maximal_queue_lifetime, and returns
// failures to the sender as delivery status notifications. On start it
// moves everything in active/ back to incoming/: whatever a previous qmgr
// had in hand is scheduled again, minus the recipients already recorded
// as done.
//
// # Runs as
//
// mail_owner.
//
// # Talks to
//
// smtpd, local and the admin command through public/qmgr (wake-ups in);
// the delivery agents through private/local and private/smtp (requests
// out, results in); the spool.
//
// # Files
//
// The queue directories. Manual page: qmgr(8).
package qmgr
