package queue

// The spool's sockets and the master's files, relative to
// queue_directory. The built-in rows of the service table listen on the
// sockets and every client of a channel dials them, so both sides take
// the names from here.
const (
	QmgrSocket    = "public/qmgr"     // wake-ups to qmgr (libmail/ipc/wake), from smtpd, local and postern flush
	LocalSocket   = "private/local"   // delivery requests from qmgr to local (libmail/ipc/delivery)
	PickupSocket  = "public/pickup"   // wake-ups from sendmail to pickup: a connection is the whole message
	SMTPSocket    = "private/smtp"    // delivery requests from qmgr to the smtp agent
	AnvilSocket   = "private/anvil"   // smtpd's client events to anvil (libmail/ipc/anvil)
	SMTPDSocket   = "private/smtpd"   // clients postscreen passes to smtpd (libmail/ipc/pass)
	ShowqSocket   = "public/showq"    // queue listings for any local user (libmail/ipc/showq)
	ControlSocket = "pid/master.ctl"  // postern to the master (libmail/ipc/control)
	PIDFile       = "pid/master.pid"  // the master's PID
	LockFile      = "pid/master.lock" // held by the master and its daemons: one mail system per spool
)

// WorldSocket reports whether the socket at listen (relative to
// queue_directory) is one any local user may connect to: public/showq,
// whose server answers only what every user may know, and public/pickup,
// where sendmail, run by any local user, knocks (Postfix's is writable by
// every sendmail through setgid postdrop; postern has no setgid helper),
// and a connection carries nothing but "look in maildrop/". Every other
// socket is 0660, for its service's peers alone.
func WorldSocket(listen string) bool { return listen == ShowqSocket || listen == PickupSocket }
