package mailbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"postern.dev/postern/libmail/maildir"
)

// Quota implements Store.
func (s *Maildir) Quota(ctx context.Context) (Quota, error) {
	b, c, err := Usage(s.root, s.opt.QuotaLimit, s.opt.Now())
	if err != nil {
		return Quota{}, err
	}
	return Quota{Used: b, Messages: c, Limit: s.opt.QuotaLimit}, nil
}

// Delivery is one message for Deliver.
type Delivery struct {
	Root   string // the account's Maildir
	Folder string // a folder such as "Junk" instead of INBOX, or ""
	// QuotaLimit is the account's limit in bytes, 0 for none.
	QuotaLimit int64
	// Size is the message's size if known (for the quota check), else 0.
	Size   int64
	Header []byte    // Unix line ends, prepended to Body
	Body   io.Reader // SMTP wire form (CRLF)
	Now    time.Time
	// Once names the delivery so that a repeat of it is recognised (see
	// maildir.Once); zero for a delivery that cannot repeat.
	Once maildir.Once
}

// Deliver is the store's delivery step, what local runs for a Maildir
// target: make the Maildir (and folder) if needed, check the quota, write
// through w into new/ (where a session's next Sync picks it up and gives
// it a UID), and count it in maildirsize. Over quota it returns
// ErrOverQuota and writes nothing; the caller defers (4.2.2). dup reports
// that d.Once found the message already delivered, and nothing was written.
func Deliver(ctx context.Context, w *maildir.Writer, d Delivery) (name string, dup bool, err error) {
	box := d.Root
	if d.Folder != "" {
		if box, err = maildir.CreateFolder(d.Root, d.Folder, 0o700); err != nil {
			return "", false, err
		}
	} else if !ready(box) {
		if err := maildir.Create(box, 0o700); err != nil {
			return "", false, err
		}
	}
	if d.QuotaLimit > 0 {
		used, _, err := Usage(d.Root, d.QuotaLimit, d.Now)
		if err != nil {
			return "", false, err
		}
		if used >= d.QuotaLimit || used+d.Size > d.QuotaLimit {
			return "", false, fmt.Errorf("%w: %d of %d bytes used", ErrOverQuota, used, d.QuotaLimit)
		}
	}
	name, dup, err = w.DeliverOnce(ctx, box, d.Once, d.Header, d.Body)
	if errors.Is(err, fs.ErrNotExist) && !isDir(box+"/tmp") {
		// new/ without tmp/: the file was never created, so the body is
		// unread and the delivery can be made again once Create is done.
		if err := maildir.Create(box, 0o700); err != nil {
			return "", false, err
		}
		name, dup, err = w.DeliverOnce(ctx, box, d.Once, d.Header, d.Body)
	}
	if err != nil || dup {
		return name, dup, err
	}
	if n, perr := maildir.ParseName(name); perr == nil {
		addQuota(d.Root, n.Size, 1)
	}
	return name, false, nil
}

// ready reports whether the Maildir at box looks made: its new/ is there.
// Create costs nine system calls on a Maildir that exists, about a tenth
// of local's CPU per message in a profile; this costs one. (A Maildir
// with new/ but without tmp/ is mended after the delivery's first step
// fails, see Deliver.)
func ready(box string) bool { return isDir(box + "/new") }

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
