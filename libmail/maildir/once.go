package maildir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"postern.dev/postern/libmail/commit"
)

// Once makes a delivery recognisable when it is made again. The queue
// records a delivery only after the Maildir has it, so a crash between
// the two (kill -9, a power cut) leaves a message delivered but not marked
// done, and the next attempt would deliver it a second time. With a key,
// the file's name no longer comes from the clock and the process but from
// the key and Time: <Sec>.M<Usec>K<Key>.<Host>. The same delivery then
// gets the same name, and a second one finds the first.
//
// A message still in new/ is found for free: the final rename refuses to
// replace a file of the same name. Once a mail reader has moved it to
// cur/, its name carries flags that cannot be guessed, and finding it
// takes a scan of new/ and cur/, which Recheck asks for. The caller sets
// it when an earlier attempt may have ended without a record (the queue
// marks such entries), so that ordinary deliveries never pay for it.
type Once struct {
	Key     string    // letters, digits and '-'; "" for a plain delivery
	Time    time.Time // the name's time: the same at every attempt
	Recheck bool      // look in new/ and cur/ before delivering
}

// name is the name a keyed delivery gets, without sizes.
func (o Once) name(host string) Name {
	return Name{Sec: o.Time.Unix(), Usec: o.Time.Nanosecond() / 1000, Key: o.Key, Host: host, Size: -1, VSize: -1}
}

// findKeyed looks for the delivery named k (sizes aside) in root's new/
// and cur/, and returns the directory ("new" or "cur") and name of the
// file, or "" if there is none. A file found short of the size its name
// gives is removed and not reported (see intact).
func findKeyed(root string, k Name) (string, string, error) {
	prefix := k.String()
	for _, dir := range []string{"new", "cur"} {
		names, err := readNames(root + "/" + dir)
		if err != nil {
			return "", "", err
		}
		for _, name := range names {
			rest, ok := strings.CutPrefix(name, prefix)
			if !ok || rest != "" && rest[0] != ',' && rest[0] != ':' {
				continue
			}
			path := root + "/" + dir + "/" + name
			if ok, err := intact(path, name); err != nil || ok {
				return dir, name, err
			}
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return "", "", fmt.Errorf("remove a truncated earlier delivery: %w", err)
			}
		}
	}
	return "", "", nil
}

// intact reports whether the file at path has the size its name gives.
// The file of an attempt cut short by a power failure can be in its
// directory and yet shorter than written, down to empty (the rename was
// committed, the data was not yet written back): that one is not the
// message, and the delivery must be made again. On ext4 and XFS a file's
// size grows only with data on disk, so the size is the test. A name
// without S= is taken as intact.
func intact(path, name string) (bool, error) {
	n, err := ParseName(name)
	if err != nil || n.Size < 0 {
		return true, nil
	}
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // moved or removed meanwhile
	}
	if err != nil {
		return false, fmt.Errorf("look at an earlier delivery: %w", err)
	}
	return st.Size() == n.Size, nil
}

func readNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look for an earlier delivery: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("look for an earlier delivery: %w", err)
	}
	return names, nil
}

// publishKeyed renames the tmp file to k's name in newDir. An intact
// file of that name already there is the same delivery made before: dup
// is set and the tmp file is left for the caller to remove. A truncated
// one (see intact) is replaced.
func publishKeyed(tmpPath, newDir string, k Name) (name string, dup bool, err error) {
	name = k.String()
	err = commit.RenameNoReplace(tmpPath, newDir+name)
	if !errors.Is(err, fs.ErrExist) {
		return name, false, err
	}
	ok, err := intact(newDir+name, name)
	if err != nil || ok {
		return name, ok, err
	}
	if err := os.Rename(tmpPath, newDir+name); err != nil {
		return "", false, fmt.Errorf("replace a truncated earlier delivery: %w", err)
	}
	return name, false, nil
}

// settleDup makes an earlier delivery's file durable before it is
// reported as delivered: the attempt that made it may have been killed
// between its rename and its flush, and its file then lives only in the
// page cache. The flush is the Writer's policy, as for a new file.
func (w *Writer) settleDup(root, dir, name string) (string, bool, error) {
	f, err := os.Open(root + "/" + dir + "/" + name)
	if err != nil {
		return "", false, fmt.Errorf("deliver: earlier delivery %s: %w", name, err)
	}
	err = w.sync.File(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = w.sync.Dir(root + "/" + dir)
	}
	if err != nil {
		return "", false, fmt.Errorf("deliver: earlier delivery %s: %w", name, err)
	}
	return name, true, nil
}
