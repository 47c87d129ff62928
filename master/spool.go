package master

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/queue"
)

// makeSpool creates the spool and the mailbox base with their owners and
// modes, and repairs them if an admin's chmod or a restore changed them:
// the daemons rely on these permissions for their privacy.
func makeSpool(p *config.Params, id *identity) error {
	root := p.QueueDirectory
	if err := ensureDir(root, 0o755, -1, -1); err != nil {
		return err
	}
	for _, d := range append(queue.Layout[:len(queue.Layout):len(queue.Layout)], queue.MaildropSpec) {
		uid, gid := id.owner.UID, id.owner.GID
		if d.Owner == "root" {
			uid, gid = os.Getuid(), os.Getgid()
		}
		if err := ensureDir(filepath.Join(root, d.Name), d.Mode, uid, gid); err != nil {
			return err
		}
	}
	// The mailbox base belongs to the vmail user. It is made if missing;
	// an existing one is left as the admin made it.
	if _, err := os.Stat(p.VirtualMailboxBase); os.IsNotExist(err) {
		if err := os.MkdirAll(filepath.Dir(p.VirtualMailboxBase), 0o755); err != nil {
			return fmt.Errorf("virtual_mailbox_base: %w", err)
		}
		if err := ensureDir(p.VirtualMailboxBase, 0o755, id.vmail.UID, id.vmail.GID); err != nil {
			return err
		}
	}
	return nil
}

// clearTmp removes what writers killed mid-entry left in tmp/. It runs
// while the master holds the spool lock and before any daemon starts, so
// nobody can be writing there: every file is an entry that was never
// acknowledged.
func clearTmp(root string) int {
	dir := filepath.Join(root, queue.Tmp)
	names, _ := os.ReadDir(dir)
	n := 0
	for _, e := range names {
		if e.Type().IsRegular() && os.Remove(filepath.Join(dir, e.Name())) == nil {
			n++
		}
	}
	return n
}

// ensureDir makes dir with mode and owner, or fixes them. uid -1 leaves
// the owner alone.
func ensureDir(dir string, mode os.FileMode, uid, gid int) error {
	if err := os.Mkdir(dir, mode); err != nil && !os.IsExist(err) {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s exists and is not a directory", dir)
	}
	// The sticky bit counts: maildrop/ needs it.
	if keep := os.ModePerm | os.ModeSticky; st.Mode()&keep != mode&keep {
		if err := os.Chmod(dir, mode); err != nil {
			return fmt.Errorf("chmod %s: %w", dir, err)
		}
	}
	if s, ok := st.Sys().(*syscall.Stat_t); ok && uid >= 0 && (int(s.Uid) != uid || int(s.Gid) != gid) {
		if err := os.Lchown(dir, uid, gid); err != nil {
			return fmt.Errorf("chown %s: %w", dir, err)
		}
	}
	return nil
}
