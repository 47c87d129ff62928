// Package daemon is the contract between the master and the daemons it
// starts, and the skeleton every daemon's main is one call into.
//
// A daemon is started with its configuration file (-c) and its service
// name (-s). Its listening sockets are inherited from the master as file
// descriptors 3 and up, named with the systemd convention (LISTEN_FDS,
// LISTEN_FDNAMES), so the same binaries also run under systemd socket
// activation; started by hand without them, a daemon binds its service's
// addresses itself. When it is ready to serve, it says READY=1 on the
// status descriptor the master passed (POSTERN_STATUS_FD), or to
// NOTIFY_SOCKET under systemd. On the same descriptor it answers the
// master's requests for its metrics (Env.Metrics, package metrics). SIGTERM and SIGINT cancel the context
// given to the daemon's Run, which must then finish its work and return.
//
// Only this package and the master touch credentials, capabilities and
// file descriptors passed between processes; an architecture test keeps
// it so.
package daemon
