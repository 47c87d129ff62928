package main

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
)

// secretGroup is the group of the daemons that read secrets (the TLS key,
// the accounts file): smtpd and local run as mail_owner, whose group the
// Debian package and `postern sandbox` create with the user.
const secretGroup = "postern"

// writeSecret writes a file only its readers may read, whatever the
// umask: mode 0600 for the user who runs the command (the daemons of an
// unprivileged sandbox run as that user), or, when root writes it for a
// root master, 0640 root:postern, so that the daemons running as postern
// read it and nobody else does. The file is written under a temporary
// name with those rights from its first byte, then renamed into place,
// so no reader ever sees it with wider ones. The mode argument is
// ignored; it is there so writeSecret can stand in for os.WriteFile.
func writeSecret(path string, data []byte, _ os.FileMode) error {
	mode, gid := os.FileMode(0o600), -1
	if os.Geteuid() == 0 {
		g, err := user.LookupGroup(secretGroup)
		if err != nil {
			return fmt.Errorf("write %s: group %s: %w", path, secretGroup, err)
		}
		if gid, err = strconv.Atoi(g.Gid); err != nil {
			return fmt.Errorf("write %s: group %s has gid %q", path, secretGroup, g.Gid)
		}
		mode = 0o640
	}
	tmp := path + ".new"
	os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	err = f.Chmod(mode)
	if err == nil && gid >= 0 {
		err = f.Chown(0, gid)
	}
	if err == nil {
		_, err = f.Write(data)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
