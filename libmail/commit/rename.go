package commit

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// RenameNoReplace renames oldpath to newpath unless newpath exists, in
// which case the error satisfies errors.Is(err, fs.ErrExist). A plain
// rename(2) would silently replace a file that happened to have the same
// name: a message in a Maildir, or a queue entry with the same ID, which
// would be a lost message either way. The queue and the Maildir writer
// both move new files into place with it.
//
// Filesystems that do not implement RENAME_NOREPLACE (NFS among them)
// fail renameat2 with EINVAL; there the spec's original method is used:
// link(2), which never replaces, then unlink(2) of the tmp name.
func RenameNoReplace(oldpath, newpath string) error {
	err := unix.Renameat2(unix.AT_FDCWD, oldpath, unix.AT_FDCWD, newpath, unix.RENAME_NOREPLACE)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	if err := unix.Link(oldpath, newpath); err != nil {
		return &os.LinkError{Op: "link", Old: oldpath, New: newpath, Err: err}
	}
	// The file is in place once the link exists. A tmp name left behind
	// if the unlink fails is harmless: Maildir readers clean tmp/ of files
	// older than 36 hours, and the queue's tmp/ holds only entries being
	// written, which nothing delivers.
	_ = unix.Unlink(oldpath)
	return nil
}
