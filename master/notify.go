package master

import (
	"fmt"
	"net"
)

// notifier speaks systemd's readiness protocol (sd_notify(3)) for the
// Type=notify unit in packaging/: one datagram per state change to the
// socket systemd names in NOTIFY_SOCKET. Without that variable (postern
// start, make run, the tests) it does nothing. A failure only costs
// systemd's view of the state, never the mail system, so it is logged,
// not fatal.
type notifier struct {
	socket string // NOTIFY_SOCKET: a path, or @name for an abstract socket
}

// The states the master reports.
const (
	notifyReady     = "READY=1\nSTATUS=all services ready"
	notifyReloading = "RELOADING=1\nSTATUS=reloading the configuration"
	notifyStopping  = "STOPPING=1\nSTATUS=stopping"
)

// send writes one state datagram. A leading @ already means an abstract
// socket to Go's net package, as it does to systemd.
func (n notifier) send(state string) error {
	if n.socket == "" {
		return nil
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: n.socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify %s: %w", n.socket, err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify %s: %w", n.socket, err)
	}
	return nil
}
