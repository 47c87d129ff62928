// Package control is the channel between the admin command (postern) and
// the master: status, reload and stop. The socket is pid/master.ctl in the
// spool (see Path).
package control

import (
	"fmt"
	"path/filepath"
	"time"

	"postern.dev/postern/libmail/queue"
)

// Channel and Version name this protocol in the hello.
const (
	Channel = "master-control"
	Version = 1
)

// Request types: the receiver, the noun, the verb.
const (
	StatusGet    = "master-status-get"
	ConfigReload = "master-config-reload"
	SystemStop   = "master-system-stop"
	ReplyType    = "admin-control-reply"
)

// Path returns the control socket of the spool at root. It lives in pid/,
// which only root can write, because a stop request must come from
// someone allowed to stop the system.
func Path(root string) string { return filepath.Join(root, queue.ControlSocket) }

// Request is one admin request.
type Request struct {
	Type string `json:"type"`
}

// Validate checks a received request.
func (r *Request) Validate() error {
	switch r.Type {
	case StatusGet, ConfigReload, SystemStop:
		return nil
	}
	return fmt.Errorf("control request of type %q", r.Type)
}

// Reply answers a Request.
type Reply struct {
	Type   string  `json:"type"`
	OK     bool    `json:"ok"`
	Error  string  `json:"error,omitempty"`
	Status *Status `json:"status,omitempty"`
}

// Status describes the running system.
type Status struct {
	PID      int             `json:"pid"`
	Started  time.Time       `json:"started"`
	Config   string          `json:"config"`
	Ready    bool            `json:"ready"` // every enabled service has a ready process
	Services []ServiceStatus `json:"services"`
}

// ServiceStatus describes one service.
type ServiceStatus struct {
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	Command   string    `json:"command"`
	User      string    `json:"user"`
	Listen    []string  `json:"listen"`
	Processes []Process `json:"processes"`
	// ThrottledUntil is set while a service that died before it was ready
	// waits to be restarted.
	ThrottledUntil time.Time `json:"throttled_until,omitzero"`
}

// Process is one running daemon process.
type Process struct {
	PID     int       `json:"pid"`
	Ready   bool      `json:"ready"`
	Started time.Time `json:"started"`
}
