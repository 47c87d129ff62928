package local

import (
	"errors"
	"os"
	"syscall"

	"postern.dev/postern/libmail/alias"
	"postern.dev/postern/libmail/daemon"
)

// rights is on whose behalf an alias, .forward or :include: value acts:
// whom its commands and files run as, and whose permissions open the
// :include: files it names.
type rights struct {
	user *daemon.User
	// root says the value comes from a file root owns; user is then
	// default_privs, standing in for root, whom local never acts as.
	root bool
}

// aliasRights are the rights of an aliases file's values: its owner's, the
// user who could have written them there, unless that is root, in which
// case default_privs (a root-owned /etc/aliases must not make commands run
// as root).
func (a *Agent) aliasRights(path string) (rights, error) {
	st, err := os.Stat(path)
	if err != nil {
		return rights{}, temporary("4.3.0", "aliases file %s: %v", path, err)
	}
	uid := int(st.Sys().(*syscall.Stat_t).Uid)
	if uid == 0 {
		u, err := daemon.LookupUser(a.cfg.DefaultPrivs)
		if err != nil {
			return rights{}, temporary("4.3.0", "default_privs: %v", err)
		}
		return rights{user: u, root: true}, nil
	}
	u, err := daemon.LookupUID(uid)
	if err != nil {
		return rights{}, temporary("4.3.0", "owner of %s: %v", path, err)
	}
	return rights{user: u}, nil
}

// include reads a :include: file on behalf of by, who named it, and
// expands its values.
func (x *expander) include(addr, path string, depth int, ext string, by rights) error {
	if depth > maxDepth {
		return permanent("5.4.6", ":include: files nest too deep at %s (a loop?)", path)
	}
	f, owner, err := x.a.openInclude(path, by)
	if err != nil {
		return err
	}
	targets, errs := alias.ParseList(f, path)
	f.Close()
	if err := x.a.logListErrors(errs); err != nil {
		x.a.log.Warn("read :include: file %s: %v", path, err)
		return temporary("4.3.0", "cannot read :include: file %s", path)
	}
	for _, t := range targets {
		if err := x.value(addr, t, depth+1, "include", owner, ext); err != nil {
			return err
		}
	}
	return nil
}

// openInclude opens an :include: file as by.user: with that user's file
// system uid, gid and groups (daemon.AsUser), so that the kernel checks
// the file and every directory on the way to it, and every symbolic link
// it follows, as it would for that user, and a user cannot have local read
// what they could not read themselves (a queue file, the accounts file, a
// TLS key). This is Postfix's rule (local/include.c opens the file with
// open_as() and the delivery rights), except that an :include: in a
// root-owned aliases file is opened as default_privs where Postfix would
// use root: local never has root's rights to use.
//
// It also returns the rights the file's values act with, again as Postfix
// decides them: those of whoever named the file, so that no one can make
// things happen with another user's rights by including a file that user
// owns; only a file named from a root-owned file lends its own owner's
// rights (default_privs if that is root too).
func (a *Agent) openInclude(path string, by rights) (*os.File, rights, error) {
	var f *os.File
	var st syscall.Stat_t
	var oerr error
	err := daemon.AsUser(by.user.UID, by.user.GID, func() error {
		if oerr = syscall.Stat(path, &st); oerr != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
			return nil
		}
		// O_NONBLOCK: a FIFO swapped in after the stat must not hold the
		// delivery until someone writes to it; it is refused below.
		f, oerr = os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
		return nil
	})
	if err != nil {
		return nil, by, temporary("4.3.0", "cannot open :include: file %s as %s: %v", path, by.user.Name, err)
	}
	if oerr != nil {
		// The error is the administrator's to see, not the sender's.
		a.log.Warn("cannot open :include: file %s as %s: %v", path, by.user.Name, oerr)
		return nil, by, includeOpenError(path, oerr)
	}
	if f != nil {
		if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
			f.Close()
			return nil, by, temporary("4.3.0", "cannot open :include: file %s", path)
		}
	}
	// As Postfix: no devices, directories or FIFOs, and no file that
	// anyone may write values into. Both are reported only once the
	// user's own stat succeeded, so they tell the user nothing they could
	// not see.
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		if f != nil {
			f.Close()
		}
		return nil, by, permanent("5.3.5", ":include: file %s is not a regular file", path)
	}
	if st.Mode&0o002 != 0 {
		f.Close()
		return nil, by, permanent("5.3.5", ":include: file %s is writable by everyone", path)
	}
	owner := by
	if by.root && st.Uid != 0 {
		u, err := daemon.LookupUID(int(st.Uid))
		if err != nil {
			f.Close()
			a.log.Warn(":include: file %s: owner: %v", path, err)
			return nil, by, temporary("4.3.5", "cannot find the owner of :include: file %s", path)
		}
		owner = rights{user: u}
	}
	return f, owner, nil
}

// includeOpenError is what the sender learns about an :include: file that
// could not be opened. It is the same whether the file is missing or
// closed to the user who named it: where a directory on the way is closed
// to that user, the kernel already answers EACCES for both, and neither
// the text nor the status may tell them apart again.
//
// Postfix bounces such a file as a configuration error (5.3.5) and so
// does this: a name that does not open now will not open on the next try
// either, and retrying for days only delays the news. Errors that are
// about the system rather than the file (out of descriptors or memory, an
// I/O error) are temporary.
func includeOpenError(path string, err error) error {
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM, syscall.EIO, syscall.EINTR, syscall.EAGAIN} {
		if errors.Is(err, e) {
			return temporary("4.3.0", "cannot open :include: file %s", path)
		}
	}
	return permanent("5.3.5", "cannot open :include: file %s", path)
}

// logListErrors logs the values of a .forward or :include: file that were
// left out because they did not parse, by file and line only: the parser's
// message quotes the line, and what a user's file says is not the mail
// log's business. A read error, after which nothing in the list can be
// trusted to be complete, is returned instead.
func (a *Agent) logListErrors(errs []error) error {
	for _, e := range errs {
		var pe *alias.ParseError
		if !errors.As(e, &pe) {
			return e
		}
		a.log.Warn("%s:%d: syntax error, value left out", pe.File, pe.Line)
	}
	return nil
}
