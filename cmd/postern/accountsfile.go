package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// editAccounts replaces the accounts file at path with edit's result,
// atomically and under a lock:
//
//   - An exclusive flock on the file serializes concurrent `postern user`
//     runs, so that neither loses the other's edit. The file is replaced
//     by rename, so a run that waited for the lock may hold it on the old
//     file: it checks that the name still leads to the file it locked,
//     and starts over if not.
//   - The new text goes to a temporary file in the same directory, with
//     the old file's owner, group and mode from its first byte (0640
//     root:postern as installed, 0600 in a user's sandbox), is fsynced,
//     renamed over the old one, and the directory is fsynced: a reader
//     (smtpd, local, Dovecot) sees the old file or the new one, never a
//     part, and a crash keeps one of the two.
//
// A file that does not exist yet is created empty first, as writeSecret
// would write it. A symbolic link is followed, so that a file shared
// with Dovecot through a link stays shared.
func editAccounts(path string, edit func(text []byte) ([]byte, error)) error {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	for {
		f, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) {
			if err := createSecret(path); err != nil && !errors.Is(err, os.ErrExist) {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("open accounts: %w", err)
		}
		done, err := editLocked(f, path, edit)
		f.Close() // and the lock with it
		if done || err != nil {
			return err
		}
	}
}

// editLocked locks f and, if path still names it, replaces it. done is
// false when the file was replaced meanwhile: the caller opens it again.
func editLocked(f *os.File, path string, edit func([]byte) ([]byte, error)) (done bool, err error) {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return false, fmt.Errorf("lock %s: %w", path, err)
	}
	locked, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("stat %s: %w", path, err)
	}
	now, err := os.Stat(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("stat %s: %w", path, err)
	}
	if err != nil || !os.SameFile(locked, now) {
		return false, nil
	}
	text, err := io.ReadAll(f)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	out, err := edit(text)
	if err != nil {
		return false, err
	}
	return true, replaceFile(path, out, locked)
}

// replaceFile writes data to path through a temporary file that has the
// owner, group and mode of old.
func replaceFile(path string, data []byte, old os.FileInfo) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	err = keepOwner(tmp, old)
	if err == nil {
		err = tmp.Chmod(old.Mode().Perm())
	}
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	// The rename is durable once the directory is.
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// keepOwner gives f the owner and group of old, when they differ from
// what f got: the daemons that read the accounts file read it through its
// group. Only root may give a file away; anyone else editing a file they
// do not own is told so rather than leaving it with the wrong owner.
func keepOwner(f *os.File, old os.FileInfo) error {
	want, ok := old.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	got, ok := st.Sys().(*syscall.Stat_t)
	if !ok || got.Uid == want.Uid && got.Gid == want.Gid {
		return nil
	}
	if err := f.Chown(int(want.Uid), int(want.Gid)); err != nil {
		return fmt.Errorf("keep the owner %d:%d of the accounts file: %w", want.Uid, want.Gid, err)
	}
	return nil
}

// checkAccountsEdit runs check on the file's current text (none if it
// does not exist), so that a command refuses what it cannot do before it
// asks for a password. editAccounts checks again under the lock.
func checkAccountsEdit(path string, check func(text []byte) error) error {
	text, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read accounts: %w", err)
	}
	return check(text)
}
