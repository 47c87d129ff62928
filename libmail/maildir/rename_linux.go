package maildir

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// renameNoReplace renames oldpath to newpath unless newpath exists, in
// which case the error satisfies errors.Is(err, fs.ErrExist). A plain
// rename(2) would silently replace a message that happened to have the
// same name.
//
// Filesystems that do not implement RENAME_NOREPLACE (NFS among them)
// fail renameat2 with EINVAL; there the spec's original method is used:
// link(2), which never replaces, then unlink(2) of the tmp name.
func renameNoReplace(oldpath, newpath string) error {
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
	// The message is delivered once the link exists. A tmp name left
	// behind if the unlink fails is harmless: the spec has readers clean
	// tmp/ of files older than 36 hours.
	_ = unix.Unlink(oldpath)
	return nil
}
