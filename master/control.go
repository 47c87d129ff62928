package master

import (
	"net"
	"os"
	"time"

	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/control"
)

// listenControl opens pid/master.ctl. The directory is root's (or the
// invoking user's) and the socket is 0600, so only whoever may stop the
// system can talk to it.
func (m *Master) listenControl() error {
	path := control.Path(m.cfg.QueueDirectory)
	if st, err := os.Lstat(path); err == nil && st.Mode()&os.ModeSocket != 0 {
		os.Remove(path)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return err
	}
	l.SetUnlinkOnClose(false)
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return err
	}
	m.ctl = l
	go m.acceptControl(l)
	return nil
}

func (m *Master) acceptControl(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go m.serveControl(c)
	}
}

func (m *Master) serveControl(c net.Conn) {
	conn, err := ipc.Accept(c, control.Channel, control.Version)
	if err != nil {
		return
	}
	defer conn.Close()
	for {
		var req control.Request
		if err := conn.Recv(&req); err != nil {
			return
		}
		if err := req.Validate(); err != nil {
			conn.SendFlush(control.Reply{Type: control.ReplyType, Error: err.Error()})
			return
		}
		reply := make(chan control.Reply, 1)
		m.events <- ctlRequest{req, reply}
		if err := conn.SendFlush(<-reply); err != nil {
			return
		}
	}
}

// control answers an admin request inside the loop.
func (m *Master) control(req control.Request) control.Reply {
	r := control.Reply{Type: control.ReplyType, OK: true}
	switch req.Type {
	case control.StatusGet:
		r.Status = m.status()
	case control.ConfigReload:
		if err := m.reloadTold(); err != nil {
			r.OK, r.Error = false, err.Error()
		}
	case control.SystemStop:
		m.stop("admin request")
	}
	return r
}

func (m *Master) status() *control.Status {
	st := &control.Status{PID: os.Getpid(), Started: m.started, Config: m.cfgPath, Ready: m.ready() && !m.stopping}
	for _, s := range m.sorted() {
		user, _ := m.id.userFor(s.cfg)
		ss := control.ServiceStatus{Name: s.cfg.Name, Kind: s.cfg.Kind, Command: commandPath(s.cfg), Listen: s.cfg.Listen,
			ThrottledUntil: s.throttledUntil}
		if user != nil {
			ss.User = user.Name
		}
		if !m.now().Before(s.throttledUntil) {
			ss.ThrottledUntil = time.Time{}
		}
		for p := range s.procs {
			ss.Processes = append(ss.Processes, control.Process{PID: p.pid, Ready: p.ready, Started: p.started})
		}
		st.Services = append(st.Services, ss)
	}
	return st
}
