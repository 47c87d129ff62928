package maildir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"postern.dev/postern/libmail/commit"
)

// Create makes the Maildir root with its tmp, new and cur directories, with
// mode perm (before the umask). Directories that already exist are left as
// they are, so Create can be called before every first delivery. Missing
// parents of root are created too.
//
// What Create makes is fsynced into its parent directory: a delivery's own
// fsync of new/ would not help if new/ itself, or root, vanished in a crash.
func Create(root string, perm os.FileMode) error {
	parent := filepath.Dir(root)
	if err := os.MkdirAll(parent, perm); err != nil {
		return fmt.Errorf("create maildir parent: %w", err)
	}
	made, err := mkdir(root, perm)
	if err != nil {
		return err
	}
	if made {
		if err := syncDir(parent); err != nil {
			return err
		}
	}
	madeSub := false
	// The three directories of a Maildir (cr.yp.to/proto/maildir.html).
	for _, sub := range []string{"tmp", "new", "cur"} {
		made, err := mkdir(filepath.Join(root, sub), perm)
		if err != nil {
			return err
		}
		madeSub = madeSub || made
	}
	if madeSub {
		return syncDir(root)
	}
	return nil
}

// mkdir creates dir and reports whether it did. An existing directory is
// fine; an existing file of another kind is an error, since deliveries into
// it would fail later with a less helpful message.
func mkdir(dir string, perm os.FileMode) (bool, error) {
	err := os.Mkdir(dir, perm)
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return false, fmt.Errorf("create maildir: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return false, fmt.Errorf("create maildir: %w", err)
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("create maildir: %s exists and is not a directory", dir)
	}
	return false, nil
}

func syncDir(dir string) error {
	d, err := commit.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("create maildir: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("create maildir: %w", err)
	}
	return nil
}

// JunkFolder is the Maildir++ folder quarantined mail goes to, the name
// Dovecot and common clients give the special-use \Junk mailbox.
const JunkFolder = "Junk"

// Folder returns the path of Maildir++ folder name inside the Maildir at
// root: a dot-prefixed directory of its own (root/.Junk), which IMAP
// servers show as a mailbox beside INBOX.
func Folder(root, name string) string { return filepath.Join(root, "."+name) }

// CreateFolder makes the Maildir at root and its Maildir++ folder name,
// with the maildirfolder marker file Maildir++ readers expect in a
// folder, and returns the folder's path.
func CreateFolder(root, name string, perm os.FileMode) (string, error) {
	if err := Create(root, perm); err != nil {
		return "", err
	}
	dir := Folder(root, name)
	if err := Create(dir, perm); err != nil {
		return "", err
	}
	marker := filepath.Join(dir, "maildirfolder")
	if _, err := os.Stat(marker); errors.Is(err, fs.ErrNotExist) {
		f, err := os.OpenFile(marker, os.O_WRONLY|os.O_CREATE, perm&0o666)
		if err != nil {
			return "", fmt.Errorf("create maildir folder: %w", err)
		}
		f.Close()
	}
	return dir, nil
}
