package imap

import (
	"compress/flate"
	"fmt"
	"io"
	"net"
	"sync"
)

// DeflateConn is a connection after COMPRESS DEFLATE (RFC 4978): raw
// deflate (RFC 1951, no zlib header) both ways. Every Write ends with a
// sync flush, so each response the Writer flushes reaches the client
// whole; the Writer flushes once per response batch, not per line.
type DeflateConn struct {
	net.Conn
	r  io.Reader
	mu sync.Mutex // the compressor's state: a Close while writing (shutdown) must wait
	w  *flate.Writer
}

// NewDeflateConn wraps c. The caller sends the tagged OK on c itself
// first, and resets its Reader and Writer onto the DeflateConn after.
func NewDeflateConn(c net.Conn) (*DeflateConn, error) {
	// RFC 4978 §4 advises a fast level: IMAP data is mostly text and
	// the server's CPU is shared by many sessions.
	w, err := flate.NewWriter(c, flate.BestSpeed)
	if err != nil {
		return nil, fmt.Errorf("deflate writer: %w", err)
	}
	// The inflater is ours (inflate.go): it hands over each flushed
	// command, whatever flush the client's zlib used.
	return &DeflateConn{Conn: c, r: newInflater(c), w: w}, nil
}

func (d *DeflateConn) Read(p []byte) (int, error) { return d.r.Read(p) }

func (d *DeflateConn) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	n, err := d.w.Write(p)
	if err != nil {
		return n, err
	}
	return n, d.w.Flush()
}

// Close ends the compressed stream and closes the connection.
func (d *DeflateConn) Close() error {
	d.mu.Lock()
	werr := d.w.Close()
	d.mu.Unlock()
	// The inflater needs no Close (it holds no resource), and a Read may
	// be running in the session's goroutine: closing the connection is
	// what ends it.
	if err := d.Conn.Close(); err != nil {
		return err
	}
	return werr
}
