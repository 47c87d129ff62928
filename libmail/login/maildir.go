package login

import (
	"os"
	"path/filepath"
	"strings"
)

// CountMaildir counts the messages of a Maildir's INBOX (new/ and cur/)
// and their size in bytes: what the authenticated-state stubs of imapd
// and pop3d answer until the mailbox store serves them.
func CountMaildir(root string) (n int, size int64, err error) {
	for _, sub := range []string{"new", "cur"} {
		ents, err := os.ReadDir(filepath.Join(root, sub))
		if err != nil {
			return 0, 0, err
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
				continue
			}
			n++
			if info, err := e.Info(); err == nil {
				size += info.Size()
			}
		}
	}
	return n, size, nil
}
