package ipc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// MaxFrame bounds one frame. Frames name queue IDs and recipients, so
// anything near this is a bug or an attack, not a message.
const MaxFrame = 1 << 20

// Hello opens every connection: the client names the channel and the
// version it speaks; the server answers with an Ack.
type Hello struct {
	Channel string `json:"channel"`
	Version int    `json:"version"`
}

// Ack answers a Hello.
type Ack struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Conn is one framed connection. Send may be called from several
// goroutines; Recv from one at a time.
type Conn struct {
	c  net.Conn
	r  *bufio.Reader
	mu sync.Mutex
	w  *bufio.Writer
}

// NewConn wraps c without a handshake.
func NewConn(c net.Conn) *Conn {
	return &Conn{c: c, r: bufio.NewReaderSize(c, 16<<10), w: bufio.NewWriterSize(c, 16<<10)}
}

// Dial connects to the Unix socket at path and introduces itself as h.
func Dial(ctx context.Context, path string, h Hello) (*Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", path, err)
	}
	conn := NewConn(c)
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	} else {
		c.SetDeadline(time.Now().Add(10 * time.Second))
	}
	if err = conn.Send(h); err == nil {
		err = conn.Flush()
	}
	var ack Ack
	if err == nil {
		err = conn.Recv(&ack)
	}
	if err == nil && !ack.OK {
		err = errors.New(ack.Error)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("%s channel %s v%d: %w", path, h.Channel, h.Version, err)
	}
	c.SetDeadline(time.Time{})
	return conn, nil
}

// Accept reads a client's Hello on a fresh server-side connection and
// accepts it if it names channel at version; otherwise it tells the client
// why and fails.
func Accept(c net.Conn, channel string, version int) (*Conn, error) {
	conn := NewConn(c)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var h Hello
	if err := conn.Recv(&h); err != nil {
		c.Close()
		return nil, fmt.Errorf("read hello: %w", err)
	}
	ack := Ack{OK: true}
	if h.Channel != channel || h.Version != version {
		ack = Ack{Error: fmt.Sprintf("this socket speaks %s v%d, not %s v%d", channel, version, h.Channel, h.Version)}
	}
	err := conn.Send(ack)
	if err == nil {
		err = conn.Flush()
	}
	if err == nil && !ack.OK {
		err = errors.New(ack.Error)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return conn, nil
}

// Send buffers one frame. Call Flush to put buffered frames on the wire;
// batching several frames into one write is how wake-ups and delivery
// requests stay cheap under load.
func (c *Conn) Send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode frame: %w", err)
	}
	if len(b) >= MaxFrame {
		return fmt.Errorf("frame of %d bytes is too large", len(b))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.w.Write(b)
	return c.w.WriteByte('\n')
}

// Flush writes buffered frames.
func (c *Conn) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.w.Flush()
}

// SendFlush sends one frame and flushes.
func (c *Conn) SendFlush(v any) error {
	if err := c.Send(v); err != nil {
		return err
	}
	return c.Flush()
}

// Recv reads the next frame into v.
func (c *Conn) Recv(v any) error {
	line, err := ReadFrame(c.r)
	if err != nil {
		return err
	}
	return Decode(line, v)
}

// Buffered reports whether a frame may already be waiting, so a reader can
// drain a batch before acting on it.
func (c *Conn) Buffered() bool { return c.r.Buffered() > 0 }

// ReadFrame reads one newline-terminated frame of at most MaxFrame bytes.
func ReadFrame(r *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > MaxFrame {
			return nil, fmt.Errorf("frame longer than %d bytes", MaxFrame)
		}
		if err == nil {
			return buf[:len(buf)-1], nil
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(buf) > 0 {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
}

// Decode parses one frame. Unknown fields are errors: a peer that sends
// them speaks another version than it claimed.
func Decode(frame []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(frame))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode frame: %w", err)
	}
	// dec.More is not enough: it says false for a stray '}' or ']'.
	if rest := bytes.TrimSpace(frame[dec.InputOffset():]); len(rest) > 0 {
		return errors.New("decode frame: trailing data")
	}
	return nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

// SetReadDeadline bounds the next Recv.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.c.SetReadDeadline(t) }

// Peer returns the underlying connection, for credential checks.
func (c *Conn) Peer() net.Conn { return c.c }
