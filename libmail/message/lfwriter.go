package message

import (
	"bytes"
	"errors"
	"io"
)

// defaultBufSize is large enough that a typical message (a few KiB) is
// converted with a single write to the underlying file, and a large one is
// written in chunks big enough to keep the per-syscall cost negligible.
const defaultBufSize = 64 << 10

// maxEmptyReads bounds how often ReadFrom tolerates a reader that returns
// no data and no error, so that a broken reader cannot spin it forever.
const maxEmptyReads = 100

// LFWriter converts CRLF line endings to LF while copying to an underlying
// writer. Only a CR immediately followed by LF is converted; any other CR is
// kept, even when the CR and the LF arrive in different calls. Output goes
// through an internal buffer, so Close (or Flush) must be called at the end.
//
// Errors from the underlying writer are returned unchanged, as bufio does:
// LFWriter is a transparent adaptor, and the caller knows the context (the
// file name, the recipient) that makes an error message useful. The first
// write error is sticky.
//
// An LFWriter is not safe for concurrent use.
type LFWriter struct {
	w       io.Writer
	buf     []byte
	n       int   // converted bytes in buf[:n], not yet written to w
	cr      bool  // the input so far ended in a CR whose fate is unknown
	flushed int64 // bytes written to w
	err     error
}

// NewLFWriter returns an LFWriter writing to w through a 64 KiB buffer.
func NewLFWriter(w io.Writer) *LFWriter {
	return newLFWriterSize(w, defaultBufSize)
}

// newLFWriterSize exists so that tests can use tiny buffers to exercise
// every buffer boundary; two bytes is the least that lets a pending CR and
// one more byte coexist.
func newLFWriterSize(w io.Writer, size int) *LFWriter {
	size = max(size, 2)
	return &LFWriter{w: w, buf: make([]byte, size)}
}

// Reset discards any unflushed output, pending CR and error, and makes the
// LFWriter write to w, keeping its buffer. It lets callers pool LFWriters so
// that each message does not allocate a fresh 64 KiB buffer.
func (w *LFWriter) Reset(dst io.Writer) {
	w.w = dst
	w.n = 0
	w.cr = false
	w.flushed = 0
	w.err = nil
}

// Count returns the number of converted bytes produced so far, whether
// already written to the underlying writer or still buffered. A pending CR
// is not counted until its successor shows whether it survives. After a
// successful Close it is the exact size of the output.
func (w *LFWriter) Count() int64 { return w.flushed + int64(w.n) }

// Write converts p and buffers the result. It returns len(p) unless writing
// a full buffer to the underlying writer failed.
func (w *LFWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	total := len(p)
	for len(p) > 0 {
		if w.n == len(w.buf) {
			if err := w.Flush(); err != nil {
				return total - len(p), err
			}
		}
		if w.cr {
			// The CR that ended the previous input is dropped only if this
			// byte is its LF; otherwise it is an ordinary byte and is kept.
			w.cr = false
			if p[0] == '\n' {
				w.buf[w.n] = '\n'
				w.n++
				p = p[1:]
			} else {
				w.buf[w.n] = '\r'
				w.n++
			}
			continue
		}
		// Conversion never lengthens its input, so a piece no longer than
		// the free space always fits.
		k := min(len(p), len(w.buf)-w.n)
		m, cr := crlfToLF(w.buf[w.n:], p[:k])
		w.n += m
		w.cr = cr
		p = p[k:]
	}
	return total, nil
}

// ReadFrom reads r until EOF, converting as it goes. It reads straight into
// the internal buffer and converts in place, so copying a message costs no
// intermediate buffer; io.Copy uses it automatically. The returned count is
// the number of bytes read from r.
func (w *LFWriter) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	empty := 0
	for {
		if w.err != nil {
			return total, w.err
		}
		// Flushing when less than an eighth of the buffer is free keeps
		// both the reads and the writes large.
		if len(w.buf)-w.n < max(len(w.buf)/8, 2) {
			if err := w.Flush(); err != nil {
				return total, err
			}
		}
		// A pending CR is put back in front of the new data so that the
		// in-place conversion sees the pair whole.
		off := w.n
		if w.cr {
			w.buf[off] = '\r'
			off++
		}
		m, err := r.Read(w.buf[off:])
		if m < 0 || m > len(w.buf)-off {
			return total, errors.New("reader returned an invalid count")
		}
		if m > 0 {
			empty = 0
			total += int64(m)
			k, cr := crlfToLF(w.buf[w.n:], w.buf[w.n:off+m])
			w.n += k
			w.cr = cr
		} else if err == nil {
			empty++
			if empty >= maxEmptyReads {
				return total, io.ErrNoProgress
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// Flush writes the buffered output to the underlying writer. A pending CR
// stays pending, because the next Write may start with its LF; Close is what
// settles it.
func (w *LFWriter) Flush() error {
	if w.err != nil {
		return w.err
	}
	if w.n == 0 {
		return nil
	}
	m, err := w.w.Write(w.buf[:w.n])
	if m < w.n && err == nil {
		err = io.ErrShortWrite
	}
	w.flushed += int64(m)
	if err != nil {
		// Keep the unwritten tail so that Count stays truthful.
		w.n = copy(w.buf, w.buf[m:w.n])
		w.err = err
		return err
	}
	w.n = 0
	return nil
}

// Close emits a pending CR (input that ends in a lone CR keeps it) and
// flushes. It does not close the underlying writer.
func (w *LFWriter) Close() error {
	if w.cr {
		if w.n == len(w.buf) {
			if err := w.Flush(); err != nil {
				return err
			}
		}
		w.cr = false
		w.buf[w.n] = '\r'
		w.n++
	}
	return w.Flush()
}

// crlfToLF copies src to dst, dropping every CR that is immediately
// followed by LF. dst must be at least len(src) long; it may overlap src as
// long as it does not start after src, because the output never gets ahead
// of the input and copy has memmove semantics. A CR that ends src is not
// copied and is reported instead, since only the next input can tell
// whether it is half of a CRLF.
func crlfToLF(dst, src []byte) (n int, cr bool) {
	for {
		j := bytes.IndexByte(src, '\r')
		if j < 0 {
			return n + copy(dst[n:], src), false
		}
		if j == len(src)-1 {
			return n + copy(dst[n:], src[:j]), true
		}
		if src[j+1] == '\n' {
			// Skip the CR; the LF starts the next segment.
			n += copy(dst[n:], src[:j])
		} else {
			n += copy(dst[n:], src[:j+1])
		}
		src = src[j+1:]
	}
}
