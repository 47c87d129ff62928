package daemon

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"
)

// Passing a connection to another process: imapd's and pop3d's login
// processes hand an authenticated client to their session service
// (SCM_RIGHTS on a Unix socket), which hands it on to the session process
// it starts as the mailbox's owner (an inherited descriptor); postscreen
// passes the clients that passed its tests to smtpd the same way. Only this
// package and the master pass descriptors, so that one place says which
// process may hold which connection.

// SendFile sends a duplicate of f's descriptor over uc, with one byte of
// ordinary data (a descriptor cannot travel alone on a stream socket).
// The caller keeps f and closes it when it no longer needs it.
func SendFile(uc *net.UnixConn, f *os.File) error {
	rights := unix.UnixRights(int(f.Fd()))
	n, oobn, err := uc.WriteMsgUnix([]byte{0}, rights, nil)
	if err != nil {
		return fmt.Errorf("pass descriptor: %w", err)
	}
	if n != 1 || oobn != len(rights) {
		return errors.New("pass descriptor: short write")
	}
	return nil
}

// ReceiveFile reads the one byte SendFile writes and the descriptor that
// came with it. It must be the first read after the peer sent it: a
// buffered reader that read the byte first would have dropped the
// descriptor with it. Any further descriptors (a hostile peer's) are
// closed.
func ReceiveFile(uc *net.UnixConn, name string) (*os.File, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, flags, _, err := uc.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, fmt.Errorf("receive descriptor: %w", err)
	}
	if n != 1 {
		return nil, errors.New("receive descriptor: no data")
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, fmt.Errorf("receive descriptor: %w", err)
	}
	var fds []int
	for _, m := range msgs {
		if got, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, got...)
		}
	}
	if flags&unix.MSG_CTRUNC != 0 || len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("receive descriptor: got %d, want 1", len(fds))
	}
	unix.CloseOnExec(fds[0])
	return os.NewFile(uintptr(fds[0]), name), nil
}

// SocketPair returns the two ends of a connected Unix stream socket pair:
// a login process that holds a client's TLS session passes one end on and
// copies between the TLS connection and the other.
func SocketPair() (*os.File, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "socketpair"), os.NewFile(uintptr(fds[1]), "socketpair"), nil
}

// InheritFiles makes cmd's process start with files as its descriptors
// 3, 4, and so on.
func InheritFiles(cmd *exec.Cmd, files ...*os.File) {
	cmd.ExtraFiles = append(cmd.ExtraFiles, files...)
}

// CommandAsUser is CommandAs for a session process: it refuses to run
// anything as root, and says so if the process lacks the privilege to
// become u.
func CommandAsUser(u *User, name string, args ...string) (*exec.Cmd, error) {
	if u.UID == 0 || u.GID == 0 {
		return nil, fmt.Errorf("will not run a session as root (user %s)", u.Name)
	}
	if (u.UID != os.Geteuid() || u.GID != os.Getegid()) && !CanSwitchUsers() {
		return nil, fmt.Errorf("cannot run as user %s: no privilege to switch users (start the master as root)", u.Name)
	}
	return CommandAs(u, name, args...), nil
}
