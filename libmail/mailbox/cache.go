package mailbox

import (
	"bytes"
	"errors"
	"fmt"
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

// headerCache is a session's view of the cache file: the whole file in
// one buffer, and a map from a hash of each record's base to where the
// record is. The map holds no pointers and the buffer is one
// allocation, so a 10,000-message folder's cache costs the file's size
// and a small table, not an object per message.
type headerCache struct {
	path   string
	magic  string // the file's first line, with its newline
	loaded bool
	data   []byte
	recs   map[uint64]cacheRec
	added  map[string][]byte // records of this session, not yet in data
	total  int               // records in data
	// live is how many records are of messages in the folder, dead how
	// many are not; counted says the folder has counted them
	// (mdFolder.countCache), which it does only before a write.
	live, dead int
	counted    bool
	pending    []byte // records not yet appended to the file
}

// cacheRec locates a record in headerCache.data: the base starts at
// name, the fields at at and run for n bytes.
type cacheRec struct{ name, at, n uint32 }

func hashBase[T string | []byte](b T) uint64 {
	h := uint64(14695981039346656037) // FNV-1a
	for i := range len(b) {
		h ^= uint64(b[i])
		h *= 1099511628211
	}
	return h
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

// load reads the cache file once per session; hint is how many records
// it likely holds (the folder's messages). A base whose hash
// collides with an earlier record's is left out (it is read from its
// message instead).
func (c *headerCache) load(hint int) {
	if c.loaded {
		return
	}
	c.loaded = true
	c.recs = map[uint64]cacheRec{}
	data, err := os.ReadFile(c.path)
	if err != nil {
		return
	}
	if !bytes.HasPrefix(data, []byte(c.magic)) || len(data) >= 1<<32 {
		os.Remove(c.path)
		return
	}
	c.data = data
	c.recs = make(map[uint64]cacheRec, hint)
	off := len(c.magic)
	for off < len(data) {
		nl := bytes.IndexByte(data[off:], '\n')
		if nl < 0 {
			c.dead++ // a torn append: dropped when the file is rewritten
			return
		}
		head := data[off : off+nl]
		sp := bytes.LastIndexByte(head, ' ')
		if sp < 0 {
			c.dead++
			return
		}
		size, sok := atoiBytes(head[sp+1:])
		base := head[:sp]
		at := off + nl + 1
		if !sok || size > 1<<20 || size > len(data)-at || !validBase(base) {
			// A torn append (a crash, two writers): what was read is
			// good, the rest is dropped when the file is rewritten.
			c.dead++
			return
		}
		h := hashBase(base)
		if r, ok := c.recs[h]; !ok || c.baseAt(r) == string(base) {
			c.recs[h] = cacheRec{name: uint32(off), at: uint32(at), n: uint32(size)}
		}
		c.total++
		off = at + size
	}
}

// atoiBytes parses a decimal record length (at most 7 digits).
func atoiBytes(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 7 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// baseAt returns the base of record r.
func (c *headerCache) baseAt(r cacheRec) string {
	head := c.data[r.name:r.at]
	return string(head[:bytes.LastIndexByte(head, ' ')])
}

// get returns the cached fields of base.
func (c *headerCache) get(base string) ([]byte, bool) {
	if d, ok := c.added[base]; ok {
		return d, true
	}
	return c.fromData(base)
}

// inData tells whether the file, as loaded, holds a record of base.
func (c *headerCache) inData(base string) bool {
	_, ok := c.fromData(base)
	return ok
}

// fromData returns base's record in the file as loaded.
func (c *headerCache) fromData(base string) ([]byte, bool) {
	r, ok := c.recs[hashBase(base)]
	if !ok {
		return nil, false
	}
	// The base is compared in place, without making a string of it.
	if int(r.name)+len(base) >= int(r.at) || string(c.data[r.name:int(r.name)+len(base)]) != base || c.data[int(r.name)+len(base)] != ' ' {
		return nil, false
	}
	return c.data[r.at : r.at+r.n : r.at+r.n], true
}

// add records a miss, to be appended at the next flush.
func (c *headerCache) add(base string, data []byte) {
	if c.added == nil {
		c.added = map[string][]byte{}
	}
	c.added[base] = data
	if c.counted {
		c.live++
	}
	c.pending = append(c.pending, base+" "+strconv.Itoa(len(data))+"\n"...)
	c.pending = append(c.pending, data...)
	if len(c.pending) >= 256<<10 {
		c.flush(nil)
	}
}

// flush appends the pending records in one write, or rewrites the whole
// file, keeping the records of bases live says are in the folder, when
// most of it is dead. With live nil nothing is rewritten.
func (c *headerCache) flush(live func(string) bool) error {
	if live != nil && c.dead > 0 && c.dead >= c.live {
		return c.rewrite(live)
	}
	if len(c.pending) == 0 {
		return nil
	}
	f, err := os.OpenFile(c.path, os.O_WRONLY|os.O_APPEND, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return c.rewrite(live)
	}
	if err != nil {
		return fmt.Errorf("header cache: %w", err)
	}
	defer f.Close()
	_, err = f.Write(c.pending)
	c.pending = c.pending[:0]
	return err
}

// rewrite replaces the file with the records of live bases (all if live
// is nil) by a temporary file and a rename.
func (c *headerCache) rewrite(live func(string) bool) error {
	var b bytes.Buffer
	b.WriteString(c.magic)
	seen := map[string]bool{}
	for base, data := range c.added {
		seen[base] = true
		b.WriteString(base + " " + strconv.Itoa(len(data)) + "\n")
		b.Write(data)
	}
	for _, r := range c.recs {
		base := c.baseAt(r)
		if seen[base] || (live != nil && !live(base)) {
			continue
		}
		b.WriteString(base + " " + strconv.Itoa(int(r.n)) + "\n")
		b.Write(c.data[r.at : r.at+r.n])
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
	return &headerCache{path: filepath.Join(dir, cacheFile), magic: cacheMagic}
}

// newItemCache is the cache of one item that a protocol derives from
// messages (Folder.CachedItem): the file postern-cache.<name> for the
// key "<name>.<version>", in the header cache's format with the key on
// the first line, so that a file another version wrote is thrown away
// rather than served.
func newItemCache(dir, key string) *headerCache {
	name, _, _ := strings.Cut(key, ".")
	return &headerCache{path: filepath.Join(dir, cacheFile+"."+name), magic: "postern-cache 1 " + key + "\n"}
}

// validItemKey tells whether key has the form "<name>.<version>": a
// lower-case name (letters, digits, '-') and a decimal version.
func validItemKey(key string) bool {
	name, ver, ok := strings.Cut(key, ".")
	if !ok || name == "" || ver == "" {
		return false
	}
	for _, c := range name {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	for _, c := range ver {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
