package mailbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// CachedFields are the header fields CachedHeader returns: what ENVELOPE
// is made of (RFC 3501 §7.4.2), References for THREAD, and the fields
// header SEARCH keys and SORT ask for most.
var CachedFields = []string{
	"Date", "Subject", "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
	"In-Reply-To", "Message-ID", "References",
}

// cacheFile holds the cached header fields of a folder's messages, so
// that FETCH ENVELOPE over a whole folder reads one file instead of one
// per message, as Dovecot's dovecot.index.cache does. It is only a
// cache: records are keyed by the file's base name (which no flag change
// alters), appended without a lock, and a file that does not parse is
// thrown away. Format: the line "postern-cache 1", then records
// "<base> <length>\n<length bytes of header lines, CRLF>".
const cacheFile = "postern-cache"

const cacheMagic = "postern-cache 1\n"

// headerCache is a session's view of the cache file.
type headerCache struct {
	path    string
	loaded  bool
	byBase  map[string][]byte
	pending []byte // records not yet appended to the file
	dead    int    // records of messages no longer in the folder
}

// fieldsOf returns the lines of header (CRLF form, ending at the empty
// line or EOF) whose field is in CachedFields, with their continuation
// lines, followed by an empty line.
func fieldsOf(header []byte) []byte {
	var out []byte
	keep := false
	for len(header) > 0 {
		line := header
		if i := bytes.IndexByte(header, '\n'); i >= 0 {
			line = header[:i+1]
		}
		header = header[len(line):]
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if keep {
				out = append(out, line...)
			}
			continue
		}
		keep = false
		if i := bytes.IndexByte(line, ':'); i > 0 {
			name := string(bytes.TrimRight(line[:i], " \t"))
			for _, f := range CachedFields {
				if strings.EqualFold(name, f) {
					keep = true
					break
				}
			}
		}
		if keep {
			out = append(out, line...)
		}
	}
	if n := len(out); n > 0 && out[n-1] != '\n' {
		out = append(out, '\r', '\n')
	}
	return append(out, '\r', '\n')
}

// load reads the cache file once per session; live says which bases
// still exist, to count the dead records.
func (c *headerCache) load(live func(string) bool) {
	if c.loaded {
		return
	}
	c.loaded = true
	c.byBase = map[string][]byte{}
	f, err := os.Open(c.path)
	if err != nil {
		return
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	if magic, err := r.ReadString('\n'); err != nil || magic != cacheMagic {
		os.Remove(c.path)
		return
	}
	for {
		head, err := r.ReadString('\n')
		if errors.Is(err, io.EOF) && head == "" {
			return
		}
		base, n, ok := strings.Cut(strings.TrimSuffix(head, "\n"), " ")
		size, perr := strconv.Atoi(n)
		if err != nil || !ok || perr != nil || size < 0 || size > 1<<20 || !validBase(base) {
			// A torn append (a crash, two writers): what was read is
			// good, the rest is dropped when the file is rewritten.
			c.dead++
			return
		}
		data := make([]byte, size)
		if _, err := io.ReadFull(r, data); err != nil {
			c.dead++
			return
		}
		if live(base) {
			c.byBase[base] = data
		} else {
			c.dead++
		}
	}
}

// add records a miss, to be appended at the next flush.
func (c *headerCache) add(base string, data []byte) {
	c.byBase[base] = data
	c.pending = append(c.pending, base+" "+strconv.Itoa(len(data))+"\n"...)
	c.pending = append(c.pending, data...)
	if len(c.pending) >= 256<<10 {
		c.flush()
	}
}

// flush appends the pending records in one write, or rewrites the whole
// file when most of it is dead.
func (c *headerCache) flush() error {
	if c.dead > 0 && c.dead >= len(c.byBase) {
		return c.rewrite()
	}
	if len(c.pending) == 0 {
		return nil
	}
	f, err := os.OpenFile(c.path, os.O_WRONLY|os.O_APPEND, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return c.rewrite()
	}
	if err != nil {
		return fmt.Errorf("header cache: %w", err)
	}
	defer f.Close()
	_, err = f.Write(c.pending)
	c.pending = c.pending[:0]
	return err
}

// rewrite replaces the file with the live records (temp file, rename).
func (c *headerCache) rewrite() error {
	var b bytes.Buffer
	b.WriteString(cacheMagic)
	for base, data := range c.byBase {
		b.WriteString(base + " " + strconv.Itoa(len(data)) + "\n")
		b.Write(data)
	}
	tmp := c.path + ".tmp" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("header cache: %w", err)
	}
	c.pending, c.dead = c.pending[:0], 0
	if err := os.Rename(tmp, c.path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("header cache: %w", err)
	}
	return nil
}

func newHeaderCache(dir string) *headerCache {
	return &headerCache{path: filepath.Join(dir, cacheFile)}
}
