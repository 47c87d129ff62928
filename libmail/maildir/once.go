package maildir

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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
//
// An earlier file counts only if it holds what this attempt wrote, byte
// for byte. A power cut can keep the rename of an attempt whose data was
// not yet on disk: the file is then empty, short, or (ext4 writes new
// data into unwritten extents and marks them written in a later
// transaction) of the right size and all zeros. Such a file is replaced.
type Once struct {
	Key     string    // letters, digits and '-'; "" for a plain delivery
	Time    time.Time // the name's time: the same at every attempt
	Recheck bool      // look in new/ and cur/ as well
}

// name is the name a keyed delivery gets, without sizes.
func (o Once) name(host string) Name {
	return Name{Sec: o.Time.Unix(), Usec: o.Time.Nanosecond() / 1000, Key: o.Key, Host: host, Size: -1, VSize: -1}
}

// publishKeyed puts the written tmp file under k's name in root/new,
// unless the same delivery is there already: then it returns the
// directory ("new" or "cur") and name of the earlier file, and leaves the
// tmp file for the caller to remove. With recheck it looks in new/ and
// cur/ for the key first; files of the key that do not hold the message
// are removed (new/'s is replaced by the rename).
func publishKeyed(root, tmpPath string, k Name, recheck bool) (dir, name string, err error) {
	if recheck {
		dir, name, err := findKeyed(root, k, tmpPath)
		if err != nil || name != "" {
			return dir, name, err
		}
	}
	name = k.String()
	path := root + "/new/" + name
	err = commit.RenameNoReplace(tmpPath, path)
	if !errors.Is(err, fs.ErrExist) {
		return "", name, err
	}
	same, err := sameContent(tmpPath, path)
	if err != nil || same {
		return "new", name, err
	}
	if err := os.Rename(tmpPath, path); err != nil {
		return "", "", fmt.Errorf("replace a broken earlier delivery: %w", err)
	}
	return "", name, nil
}

// findKeyed looks in root's new/ and cur/ for a file of the delivery k
// (its name with any sizes and flags) that holds what tmpPath holds, and
// returns its directory and name, or "" if there is none. Files of the
// key that hold something else are removed.
func findKeyed(root string, k Name, tmpPath string) (string, string, error) {
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
			same, err := sameContent(tmpPath, path)
			if err != nil || same {
				return dir, name, err
			}
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return "", "", fmt.Errorf("remove a broken earlier delivery: %w", err)
			}
		}
	}
	return "", "", nil
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

// sameContent reports whether the files at a and b hold the same bytes.
// A file gone meanwhile (a reader moved it) is not the same.
func sameContent(a, b string) (bool, error) {
	fa, err := os.Open(a)
	if err != nil {
		return false, fmt.Errorf("compare with an earlier delivery: %w", err)
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("compare with an earlier delivery: %w", err)
	}
	defer fb.Close()
	sa, err1 := fa.Stat()
	sb, err2 := fb.Stat()
	if err := errors.Join(err1, err2); err != nil {
		return false, fmt.Errorf("compare with an earlier delivery: %w", err)
	}
	if sa.Size() != sb.Size() {
		return false, nil
	}
	var ba, bb [32 << 10]byte
	for {
		na, erra := io.ReadFull(fa, ba[:])
		nb, errb := io.ReadFull(fb, bb[:])
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		if erra == io.EOF || erra == io.ErrUnexpectedEOF {
			return errb == erra, nil
		}
		if erra != nil || errb != nil {
			return false, fmt.Errorf("compare with an earlier delivery: %w", errors.Join(erra, errb))
		}
	}
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
