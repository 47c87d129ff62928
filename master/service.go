package master

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/daemon"
)

// service is the master's view of one row of the service table.
type service struct {
	cfg   *config.Service
	print string     // fingerprint of everything the daemons see
	files []*os.File // listening sockets, inherited by every process
	procs map[*proc]bool

	throttledUntil time.Time
	// retiring is set while the processes of an old configuration finish;
	// next is what replaces them (nil: the service is going away).
	retiring  bool
	next      *config.Service
	nextFiles []*os.File
}

// proc is one running daemon process.
type proc struct {
	svc     *service
	cmd     *exec.Cmd
	pid     int
	ready   bool
	started time.Time
	status  *os.File // the master's end of the status socketpair
}

// fingerprint summarizes what a service's processes see, so that a reload
// restarts exactly the services whose daemons would behave differently.
func fingerprint(s *config.Service) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%q|%s|%q|%s|%d|%q\n", s.Name, s.Kind, s.Listen, s.Command, s.Args, s.User, s.ProcessLimit, s.Capabilities)
	config.WriteParams(&b, &s.Params, nil)
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// sameSockets reports whether two configurations of a service listen on
// the same sockets, in which case a restart keeps the bound ones.
func sameSockets(a, b *config.Service) bool {
	return a.Kind == b.Kind && a.Params.QueueDirectory == b.Params.QueueDirectory &&
		strings.Join(a.Listen, "\x00") == strings.Join(b.Listen, "\x00")
}

// bind opens a service's sockets; unix sockets belong to the user that
// runs the daemons so that their peers (also that user) can connect.
func (m *Master) bind(s *config.Service) ([]*os.File, error) {
	uid, gid := -1, -1
	if m.id.root {
		uid, gid = m.id.owner.UID, m.id.owner.GID
	}
	files, err := daemon.Listen(s, s.Params.QueueDirectory, uid, gid)
	if err != nil && daemon.IsAddrInUse(err) {
		return nil, fmt.Errorf("%w (another mail server, or another postern, is listening there)", err)
	}
	return files, err
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// commandPath is the program a service runs.
func commandPath(s *config.Service) string {
	if filepath.IsAbs(s.Command) {
		return s.Command
	}
	return filepath.Join(s.Params.DaemonDirectory, s.Command)
}

// listenerNames names the inherited sockets for LISTEN_FDNAMES; systemd
// separates names with colons, so addresses cannot be names.
func listenerNames(s *config.Service) string {
	names := make([]string, len(s.Listen))
	for i := range s.Listen {
		names[i] = fmt.Sprintf("%s.%d", s.Name, i)
	}
	return strings.Join(names, ":")
}
