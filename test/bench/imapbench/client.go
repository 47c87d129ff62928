package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// client is the least IMAP client that can time a server: it sends one
// command, reads everything up to its tagged completion (literals
// included), and counts the untagged lines. It understands nothing else,
// so the two servers are measured with the same reading cost.
type client struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
	tag  int
}

func dial(addr string, useTLS bool) (*client, error) {
	var conn net.Conn
	var err error
	if useTLS {
		conn, err = tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) // the servers' own test certificates
	} else {
		conn, err = net.Dial("tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	c := &client{conn: conn, r: bufio.NewReaderSize(conn, 256<<10), w: bufio.NewWriter(conn)}
	if _, err := c.line(); err != nil { // greeting
		conn.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	return c, nil
}

// line reads one response line, and the literal it announces, if any.
func (c *client) line() ([]byte, error) {
	var all []byte
	for {
		l, err := c.r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			all = append(all, l...)
			continue
		}
		if err != nil {
			return nil, err
		}
		all = append(all, l...)
		// A line that ends in {n} is followed by n bytes, then the rest of
		// the line.
		t := bytes.TrimRight(all, "\r\n")
		if len(t) > 0 && t[len(t)-1] == '}' {
			if i := bytes.LastIndexByte(t, '{'); i >= 0 {
				n, err := strconv.Atoi(string(bytes.TrimSuffix(t[i+1:len(t)-1], []byte("+"))))
				if err == nil {
					if _, err := io.CopyN(io.Discard, c.r, int64(n)); err != nil {
						return nil, err
					}
					continue
				}
			}
		}
		return all, nil
	}
}

// result is what one command returned.
type result struct {
	elapsed  time.Duration
	untagged int    // untagged response lines
	search   int    // numbers in SEARCH responses
	status   string // the tagged line
}

// do sends cmd and reads until its tagged completion.
func (c *client) do(cmd string) (result, error) {
	c.tag++
	tag := fmt.Sprintf("b%d", c.tag)
	start := time.Now()
	fmt.Fprintf(c.w, "%s %s\r\n", tag, cmd)
	if err := c.w.Flush(); err != nil {
		return result{}, err
	}
	var res result
	prefix := []byte(tag + " ")
	for {
		l, err := c.line()
		if err != nil {
			return res, fmt.Errorf("%s: %w", cmd, err)
		}
		if bytes.HasPrefix(l, prefix) {
			res.elapsed = time.Since(start)
			res.status = string(bytes.TrimRight(l, "\r\n"))
			if !bytes.HasPrefix(l[len(prefix):], []byte("OK")) {
				return res, fmt.Errorf("%s: %s", cmd, res.status)
			}
			return res, nil
		}
		res.untagged++
		if bytes.HasPrefix(l, []byte("* SEARCH")) {
			res.search += len(bytes.Fields(l)) - 2
		}
	}
}

func (c *client) close() {
	c.do("LOGOUT")
	c.conn.Close()
}
