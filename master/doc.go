// Package master is postern's supervisor, the only process that keeps
// root.
//
// # Role
//
// The master reads the configuration, creates the spool with its owners
// and modes, takes the spool lock, binds every listening socket (TCP for
// smtpd, Unix sockets under the spool for qmgr and local), and starts each
// service's daemons as their own user with their sockets inherited
// (LISTEN_FDS/LISTEN_FDNAMES). It restarts a daemon that dies, and
// throttles one that dies before it was ready, as Postfix's master does;
// SIGHUP reloads the configuration (changed services restart, listeners
// that did not change keep their sockets, so no connection is refused);
// SIGTERM stops everything gracefully.
//
// # Runs as
//
// root in production; the daemons run as mail_owner (local keeps only
// CAP_SETUID and CAP_SETGID, to start per-delivery children as other
// users). Started by an ordinary user (development, tests, make run),
// every daemon runs as that user with the same code paths.
//
// # Talks to
//
// Each daemon through a socketpair: READY=1 and metrics snapshots come
// up, requests for metrics go down, and EOF goes down when the master
// dies, which makes the daemons finish and exit. The admin command
// through the control socket pid/master.ctl (status, reload, stop).
// Prometheus, when metrics_listen is set, over HTTP on loopback
// (metrics.go: the master sums what every daemon, live or dead,
// counted). Nothing else: mail never passes through the master.
//
// # Files
//
// pid/master.pid (its PID), pid/master.lock (held by the master and,
// through an inherited descriptor, by every daemon it started, so a second
// master cannot start while any of them runs), pid/master.ctl, the mail
// log file when maillog_file is set (its descriptor is the daemons'
// standard error). Manual page: master(8).
package master
