package mailbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"postern.dev/postern/libmail/maildir"
)

// quotaFile is Maildir++'s quota file (Courier's maildirquota, which
// Dovecot's "maildir" quota backend shares): a first line with the limit
// ("<bytes>S"), then one "<bytes> <count>" line per change, appended with
// O_APPEND by each writer without a lock. The sum of the lines is the use.
// When the file grows past maxQuotaFile bytes, is older than
// quotaRecount, or is missing, the use is counted again from the files.
const quotaFile = "maildirsize"

const (
	maxQuotaFile = 5120
	quotaRecount = 15 * time.Minute
)

// Usage returns the bytes and messages in the Maildir at root (all
// folders), reading maildirsize or recounting. limit is written into a
// recounted file's first line.
func Usage(root string, limit int64, now time.Time) (bytes, count int64, err error) {
	p := filepath.Join(root, quotaFile)
	data, err := os.ReadFile(p)
	if err == nil && len(data) <= maxQuotaFile {
		if fi, serr := os.Stat(p); serr == nil && now.Sub(fi.ModTime()) < quotaRecount {
			if b, c, ok := sumQuota(string(data)); ok {
				return b, c, nil
			}
		}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, 0, fmt.Errorf("read quota: %w", err)
	}
	return recountQuota(root, limit)
}

func sumQuota(data string) (bytes, count int64, ok bool) {
	lines := strings.Split(data, "\n")
	if len(lines) < 1 {
		return 0, 0, false
	}
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		f := strings.Fields(l)
		if len(f) != 2 {
			return 0, 0, false
		}
		b, err1 := strconv.ParseInt(f[0], 10, 64)
		c, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, 0, false
		}
		bytes += b
		count += c
	}
	return bytes, count, true
}

// recountQuota sums the file sizes of every message in every folder
// (from S= where the name has it, else a stat) and writes a fresh
// maildirsize.
func recountQuota(root string, limit int64) (bytes, count int64, err error) {
	dirs := []string{root}
	ents, err := os.ReadDir(root)
	if err != nil {
		return 0, 0, fmt.Errorf("count quota: %w", err)
	}
	for _, e := range ents {
		if n := e.Name(); e.IsDir() && len(n) > 1 && n[0] == '.' && n != ".." && !strings.HasPrefix(n, "..") {
			dirs = append(dirs, filepath.Join(root, n))
		}
	}
	for _, d := range dirs {
		for _, sub := range []string{"new", "cur"} {
			names, err := readNames(filepath.Join(d, sub))
			if err != nil {
				continue
			}
			for _, n := range names {
				bytes += fileSize(filepath.Join(d, sub, n))
				count++
			}
		}
	}
	def := ""
	if limit > 0 {
		def = strconv.FormatInt(limit, 10) + "S"
	}
	content := fmt.Sprintf("%s\n%d %d\n", def, bytes, count)
	tmp := filepath.Join(root, quotaFile+".tmp"+strconv.Itoa(os.Getpid()))
	if werr := os.WriteFile(tmp, []byte(content), 0o600); werr == nil {
		if os.Rename(tmp, filepath.Join(root, quotaFile)) != nil {
			os.Remove(tmp)
		}
	}
	return bytes, count, nil
}

// fileSize is a message file's size: S= from its name, else a stat.
func fileSize(p string) int64 {
	base, _, _ := strings.Cut(filepath.Base(p), ":")
	if n, err := maildir.ParseName(base); err == nil && n.Size >= 0 {
		return n.Size
	}
	if fi, err := os.Stat(p); err == nil {
		return fi.Size()
	}
	return 0
}

// addQuota records a change of size bytes and count messages in
// maildirsize, if the file exists (a missing file is recounted when
// next needed, so nothing is lost by skipping).
func addQuota(root string, size, count int64) {
	f, err := os.OpenFile(filepath.Join(root, quotaFile), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return
	}
	defer f.Close()
	f.WriteString(strconv.FormatInt(size, 10) + " " + strconv.FormatInt(count, 10) + "\n")
}

// addQuota records a message this store added (count 1) or removed (-1).
func (s *Maildir) addQuota(base string, count int64) {
	var size int64
	if n, err := maildir.ParseName(base); err == nil && n.Size >= 0 {
		size = n.Size
	}
	addQuota(s.root, size*count, count)
}

// checkQuota refuses when the account is at or over its limit; extra is
// what the operation adds if known.
func (s *Maildir) checkQuota(extra int64) error {
	if s.opt.QuotaLimit <= 0 {
		return nil
	}
	used, _, err := Usage(s.root, s.opt.QuotaLimit, s.opt.Now())
	if err != nil {
		return err
	}
	if used+extra > s.opt.QuotaLimit || used >= s.opt.QuotaLimit {
		return ErrOverQuota
	}
	return nil
}

// ParseQuotaRule reads a storage limit from an account's extra fields in
// Dovecot's form, "userdb_quota_rule=*:storage=1G" (or "quota_rule=..."):
// a number with an optional B, K, M, G or T suffix (powers of 1024). ok
// is false when the fields set no storage limit.
func ParseQuotaRule(extra string) (limit int64, ok bool) {
	for _, f := range strings.Fields(extra) {
		k, v, _ := strings.Cut(f, "=")
		if k != "userdb_quota_rule" && k != "quota_rule" {
			continue
		}
		_, v, _ = strings.Cut(v, ":") // the mailbox pattern, "*"
		for _, part := range strings.Split(v, ":") {
			if s, ok := strings.CutPrefix(part, "storage="); ok {
				if n, err := ParseSize(s); err == nil {
					return n, true
				}
			}
		}
	}
	return 0, false
}

// ParseSize reads a size such as 1048576, 100M or 1G (powers of 1024).
func ParseSize(s string) (int64, error) {
	mult := int64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'B', 'b':
			s = s[:n-1]
		case 'K', 'k':
			mult, s = 1<<10, s[:n-1]
		case 'M', 'm':
			mult, s = 1<<20, s[:n-1]
		case 'G', 'g':
			mult, s = 1<<30, s[:n-1]
		case 'T', 't':
			mult, s = 1<<40, s[:n-1]
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return v * mult, nil
}
