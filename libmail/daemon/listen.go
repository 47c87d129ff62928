package daemon

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/queue"
)

// SocketPath returns where a unix service listens: a path inside the spool.
func SocketPath(spool, listen string) string { return filepath.Join(spool, listen) }

// Listen binds every address of svc and returns the sockets as files, to
// be inherited by the service's processes. Unix sockets are created inside
// spool and, when uid is not -1, given to uid:gid with mode 0660 so only
// their service's peers can connect (the directory modes do the rest).
func Listen(svc *config.Service, spool string, uid, gid int) ([]*os.File, error) {
	var files []*os.File
	fail := func(err error) ([]*os.File, error) {
		for _, f := range files {
			f.Close()
		}
		return nil, fmt.Errorf("service %s: %w", svc.Name, err)
	}
	for _, addr := range svc.Listen {
		var l net.Listener
		var err error
		switch svc.Kind {
		case "inet":
			l, err = net.Listen("tcp", addr)
		case "unix":
			path := SocketPath(spool, addr)
			// A socket file left by a crashed master would make bind fail;
			// only remove it if it is a socket, never a queue file.
			if st, serr := os.Lstat(path); serr == nil && st.Mode()&os.ModeSocket != 0 {
				os.Remove(path)
			}
			var ul *net.UnixListener
			ul, err = net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
			if err == nil {
				// The master owns the file's lifetime, not the listener:
				// a daemon closing its copy must not unlink it.
				ul.SetUnlinkOnClose(false)
				l = ul
				err = os.Chmod(path, socketMode(addr))
				if err == nil && uid >= 0 {
					err = os.Lchown(path, uid, gid)
				}
			}
		default:
			err = fmt.Errorf("unknown kind %q", svc.Kind)
		}
		if err != nil {
			if l != nil {
				l.Close()
			}
			return fail(err)
		}
		f, err := l.(interface{ File() (*os.File, error) }).File()
		l.Close()
		if err != nil {
			return fail(err)
		}
		files = append(files, f)
	}
	return files, nil
}

// socketMode is a unix socket's mode: for the service's peers only,
// but pickup's, where sendmail, run by any local user, knocks (Postfix's
// public/pickup is writable by every sendmail through setgid postdrop;
// postern has no setgid helper). A connection there carries nothing but
// "look in maildrop/", so anyone may make one.
func socketMode(listen string) os.FileMode {
	if listen == queue.PickupSocket {
		return 0o666
	}
	return 0o660
}

// IsAddrInUse reports whether err says a port is taken, so the master can
// name the culprit plainly.
func IsAddrInUse(err error) bool { return errors.Is(err, syscall.EADDRINUSE) }
