package benchkit

import (
	"context"
	"fmt"
	"net"
	"net/smtp"
	"sync"
	"sync/atomic"
	"time"
)

// Client is one SMTP session to the sandbox, kept for many messages.
type Client struct {
	c *smtp.Client
}

// Dial opens a session and says EHLO.
func Dial(ctx context.Context, addr string) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	if err := c.Hello("bench.example.com"); err != nil {
		c.Close()
		return nil, fmt.Errorf("EHLO: %w", err)
	}
	return &Client{c: c}, nil
}

// Send sends m to its To address in one transaction and returns the bytes
// written and the hash of the body (Message.Write). The message streams
// through the DATA writer.
func (cl *Client) Send(m Message) (int64, [32]byte, error) {
	var zero [32]byte
	if err := cl.c.Mail(m.From); err != nil {
		return 0, zero, fmt.Errorf("MAIL: %w", err)
	}
	if err := cl.c.Rcpt(m.To); err != nil {
		return 0, zero, fmt.Errorf("RCPT: %w", err)
	}
	w, err := cl.c.Data()
	if err != nil {
		return 0, zero, fmt.Errorf("DATA: %w", err)
	}
	n, sum, err := m.Write(w)
	if err != nil {
		w.Close()
		return n, sum, fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return n, sum, fmt.Errorf("end of DATA: %w", err)
	}
	return n, sum, nil
}

// Close says QUIT.
func (cl *Client) Close() error {
	err := cl.c.Quit()
	cl.c.Close()
	return err
}

// Blast sends copies of m over conns parallel sessions, each kept for
// all its messages (smtp-source -d): count of them, or when count is 0
// as many as the sessions start before until. It returns how many were
// accepted and how long it took until the last was.
func Blast(ctx context.Context, addr string, m Message, count int, until time.Time, conns int) (int, time.Duration, error) {
	start := time.Now()
	var next, sent atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	more := func() bool {
		if count > 0 {
			return next.Add(1) <= int64(count)
		}
		return time.Now().Before(until)
	}
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := Dial(ctx, addr)
			if err != nil {
				errs <- err
				return
			}
			defer cl.Close()
			for more() {
				if ctx.Err() != nil {
					errs <- ctx.Err()
					return
				}
				if _, _, err := cl.Send(m); err != nil {
					errs <- err
					return
				}
				sent.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	return int(sent.Load()), time.Since(start), <-errs
}
