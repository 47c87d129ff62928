package main

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"postern.dev/postern/libmail/daemon"
)

// secretGroup is the group of the daemons that read secrets (the TLS key,
// the accounts file): smtpd and local run as mail_owner, whose group the
// Debian package and `postern sandbox` create with the user.
const secretGroup = "postern"

// secretMode is the mode and group of a secret file that the running
// user makes: 0600 for the user who runs the command (the daemons of an
// unprivileged sandbox run as that user), or, when root writes it for a
// root master, 0640 root:postern, so that the daemons running as postern
// read it and nobody else does. gid is -1 when the group stays as is.
func secretMode() (mode os.FileMode, gid int, err error) {
	if os.Geteuid() != 0 {
		return 0o600, -1, nil
	}
	g, err := user.LookupGroup(secretGroup)
	if err != nil {
		return 0, 0, fmt.Errorf("group %s: %w", secretGroup, err)
	}
	if gid, err = strconv.Atoi(g.Gid); err != nil {
		return 0, 0, fmt.Errorf("group %s has gid %q", secretGroup, g.Gid)
	}
	return 0o640, gid, nil
}

// openSecret creates path, which must not exist, with secretMode's rights
// from its first byte.
func openSecret(path string) (*os.File, error) {
	mode, gid, err := secretMode()
	if err != nil {
		return nil, err
	}
	uid := -1
	if gid >= 0 {
		uid = 0
	}
	return openSecretAs(path, mode, uid, gid)
}

// openSecretAs creates path, which must not exist, mode 0600 from its
// first byte, then gives it mode and, unless they are -1, uid and gid.
func openSecretAs(path string, mode os.FileMode, uid, gid int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	err = f.Chmod(mode)
	if err == nil && (uid >= 0 || gid >= 0) {
		err = f.Chown(uid, gid)
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return f, nil
}

// writeSecret writes a file only its readers may read (see secretMode),
// whatever the umask. The file is written under a temporary name with
// those rights from its first byte, then renamed into place, so no reader
// ever sees it with wider ones. The mode argument is ignored; it is there
// so writeSecret can stand in for os.WriteFile.
func writeSecret(path string, data []byte, _ os.FileMode) error {
	return writeSecretWith(path, data, openSecret)
}

// writePrivate writes a file that only owner reads, mode 0600 (the DKIM
// keys, which only the signing daemon needs); a nil owner is the user
// who runs the command. Like writeSecret, it renames into place.
func writePrivate(path string, data []byte, owner *daemon.User) error {
	return writeSecretWith(path, data, func(p string) (*os.File, error) {
		if owner == nil {
			return openSecretAs(p, 0o600, -1, -1)
		}
		return openSecretAs(p, 0o600, owner.UID, owner.GID)
	})
}

func writeSecretWith(path string, data []byte, open func(string) (*os.File, error)) error {
	tmp := path + ".new"
	os.Remove(tmp)
	f, err := open(tmp)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeFile replaces path with data as writeSecret does (a temporary
// file, fsynced, renamed into place, the directory fsynced), with mode
// and the umask's say on it: a configuration or certificate written by
// an admin command is on disk when the command returns, and a crash
// leaves the old file or the new one, never an empty one (which
// TestRootPowerCut met after a cut: the sandbox's certificate).
func writeFile(path string, data []byte, mode os.FileMode) error {
	return writeSecretWith(path, data, func(p string) (*os.File, error) {
		return os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	})
}

// syncDir fsyncs a directory, making the renames in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// createSecret creates an empty secret file at path; it fails with an
// error wrapping os.ErrExist when the file exists.
func createSecret(path string) error {
	f, err := openSecret(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	return f.Close()
}
