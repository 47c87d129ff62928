package maildir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"postern.dev/postern/libmail/commit"
	"postern.dev/postern/libmail/message"
)

// maxAttempts bounds the retries after a name collision. A collision needs
// another process with our PID and host, or a clock and counter that
// repeat; several in a row mean something is badly wrong.
const maxAttempts = 8

// Writer delivers messages into Maildirs. It is safe for concurrent use,
// and meant to be shared: its counter is what keeps names unique among the
// process's goroutines (the spec's Qn counts the deliveries of the whole
// process), and its group committer is what lets concurrent deliveries to
// one Maildir share an fsync. Use one Writer per process.
type Writer struct {
	host string // escaped for use in names
	pid  int
	now  func() time.Time
	seq  atomic.Uint64
	sync commit.Policy
	// bufs holds *message.LFWriter values so that a delivery reuses a 64
	// KiB buffer instead of allocating one.
	bufs sync.Pool
}

// NewWriter returns a Writer that names files after hostname and pid and
// reads the time from now.
func NewWriter(hostname string, pid int, now func() time.Time) *Writer {
	return NewWriterPolicy(hostname, pid, now, &commit.PerFile{})
}

// NewWriterPolicy is NewWriter with another way of making files durable
// (see commit.Policy).
func NewWriterPolicy(hostname string, pid int, now func() time.Time, p commit.Policy) *Writer {
	w := &Writer{host: escapeHost(hostname), pid: pid, now: now, sync: p}
	w.bufs.New = func() any { return message.NewLFWriter(nil) }
	return w
}

// Deliver stores one message in the Maildir at root and returns the name
// of its file in root/new. header must be in Unix form (LF line endings);
// it goes through the same CRLF-to-LF conversion as body, which is a no-op
// for such input. body is in SMTP wire form (CRLF line endings, dot
// stuffing already removed) and is read until EOF.
//
// The protocol is the Maildir spec's (cr.yp.to/proto/maildir.html): create
// root/tmp/<unique> with O_EXCL, write, fdatasync, rename to
// root/new/<unique>,S=<size>,W=<crlf size>, then fsync root/new. When Deliver returns nil
// the message is on stable storage. On an error before the rename the tmp
// file is removed and nothing is delivered.
//
// ctx is checked before the file is created and again before the rename;
// it cannot interrupt a read of body, so a caller that needs a timeout on a
// slow client must put it on the reader. Once the rename has happened the
// message is delivered and Deliver waits for the directory fsync whatever
// ctx says. If that fsync fails, Deliver returns the name with an error:
// the message is in new/ but may not survive a crash, and retrying the
// delivery may produce a duplicate, which is the right side to err on.
func (w *Writer) Deliver(ctx context.Context, root string, header []byte, body io.Reader) (string, error) {
	name, _, err := w.DeliverOnce(ctx, root, Once{}, header, body)
	return name, err
}

// DeliverOnce is Deliver for a delivery that may have been made before:
// with a key in once, the file is named after it (see Once), and when a
// message of that key is already in the Maildir, DeliverOnce leaves it be
// and reports its name with dup set. Without a key it is Deliver.
func (w *Writer) DeliverOnce(ctx context.Context, root string, once Once, header []byte, body io.Reader) (string, bool, error) {
	if err := ctx.Err(); err != nil {
		return "", false, fmt.Errorf("deliver: %w", err)
	}
	if once.Key != "" && !validKey(once.Key) {
		return "", false, fmt.Errorf("deliver: bad delivery key %q", once.Key)
	}
	tmpDir := root + "/tmp/"
	f, n, err := w.create(tmpDir)
	if err != nil {
		return "", false, err
	}
	tmpPath := f.Name()
	n.Size, n.VSize, err = w.write(f, header, body)
	if err == nil {
		err = ctx.Err()
	}
	var name string
	dupDir := ""
	if err == nil {
		if once.Key != "" {
			k := once.name(w.host)
			k.Size, k.VSize = n.Size, n.VSize
			dupDir, name, err = publishKeyed(root, tmpPath, k, once.Recheck)
		} else {
			name, err = w.publish(tmpPath, root+"/new/", n)
		}
	}
	if err != nil || dupDir != "" {
		if rerr := os.Remove(tmpPath); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	if err != nil {
		return "", false, fmt.Errorf("deliver: %w", err)
	}
	if dupDir != "" {
		return w.settleDup(root, dupDir, name)
	}
	if err := w.sync.Dir(root + "/new"); err != nil {
		return name, false, fmt.Errorf("deliver %s: %w", name, err)
	}
	return name, false, nil
}

// next returns a fresh unique name. The seconds and microseconds come from
// one clock reading, as the spec asks for Mn.
func (w *Writer) next() Name {
	t := w.now()
	return Name{
		Sec:   t.Unix(),
		Usec:  t.Nanosecond() / 1000,
		PID:   w.pid,
		Seq:   w.seq.Add(1),
		Host:  w.host,
		Size:  -1,
		VSize: -1,
	}
}

// create makes the tmp file. O_EXCL is what makes the name ours: the
// spec's older advice (stat, sleep, retry) is unnecessary when the create
// itself fails on a collision.
func (w *Writer) create(tmpDir string) (*os.File, Name, error) {
	for range maxAttempts {
		n := w.next()
		var b [128]byte
		path := tmpDir + string(n.appendTo(b[:0]))
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			return f, n, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, n, fmt.Errorf("deliver: %w", err)
		}
	}
	return nil, Name{}, fmt.Errorf("deliver: %d name collisions in %s", maxAttempts, tmpDir)
}

// write copies header and body into f, makes the data durable and closes
// f. It returns the file's size, which the LFWriter counted on the way, and
// its size with CRLF line ends (the size plus one per LF), which IMAP
// reports as RFC822.SIZE and would otherwise have to read the file for.
func (w *Writer) write(f *os.File, header []byte, body io.Reader) (int64, int64, error) {
	lw := w.bufs.Get().(*message.LFWriter)
	lc := &lineCounter{w: f}
	lw.Reset(lc)
	err := w.copy(lw, header, body)
	size := lw.Count()
	// Drop the reference to f so the pooled writer does not keep it alive.
	lw.Reset(nil)
	w.bufs.Put(lw)
	if err == nil {
		err = w.sync.File(f)
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close: %w", cerr)
	}
	return size, size + lc.n, err
}

// lineCounter counts the LFs written through it that a reader giving
// CRLF line ends must expand: those not already after a CR (a bare CR in
// the input can leave one before an LF).
type lineCounter struct {
	w  io.Writer
	n  int64
	cr bool // the last byte written was CR
}

func (c *lineCounter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	out := p[:n]
	lfs := bytes.Count(out, []byte{'\n'}) - bytes.Count(out, []byte("\r\n"))
	if len(out) > 0 {
		if c.cr && out[0] == '\n' {
			lfs--
		}
		c.cr = out[len(out)-1] == '\r'
	}
	c.n += int64(lfs)
	return n, err
}

func (w *Writer) copy(lw *message.LFWriter, header []byte, body io.Reader) error {
	if _, err := lw.Write(header); err != nil {
		return fmt.Errorf("write header: %w", err)
	}
	if _, err := lw.ReadFrom(body); err != nil {
		return fmt.Errorf("copy body: %w", err)
	}
	if err := lw.Close(); err != nil {
		return fmt.Errorf("write body: %w", err)
	}
	return nil
}

// publish renames the tmp file into newDir under its final name, never
// replacing an existing file; on a collision it picks a new unique name.
func (w *Writer) publish(tmpPath, newDir string, n Name) (string, error) {
	for range maxAttempts {
		var b [128]byte
		name := string(n.appendTo(b[:0]))
		err := commit.RenameNoReplace(tmpPath, newDir+name)
		if err == nil {
			return name, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
		size, vsize := n.Size, n.VSize
		n = w.next()
		n.Size, n.VSize = size, vsize
	}
	return "", fmt.Errorf("%d name collisions in %s", maxAttempts, newDir)
}

// Close releases the directories held open for group commits. Deliver must
// not be called afterwards.
func (w *Writer) Close() error {
	if c, ok := w.sync.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// NewName returns a fresh unique name (without sizes) from the Writer's
// clock and counter, for a file another package places itself (the
// mailbox store's copies and appends), so that it cannot collide with the
// Writer's deliveries.
func (w *Writer) NewName() Name { return w.next() }
