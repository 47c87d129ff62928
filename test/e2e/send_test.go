package e2e

import (
	"bytes"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// dial connects github.com/emersion/go-smtp's client to addr: the SMTP
// client of the end-to-end tests, written apart from postern (as its
// server is the sink's), so that smtpd's reading of the RFC is checked by
// a parser that does not share it. Its timeouts are shorter than
// go-smtp's five minutes so that a hung server fails the test quickly.
func dial(addr string) (*gosmtp.Client, error) {
	c, err := gosmtp.Dial(addr)
	if err != nil {
		return nil, err
	}
	c.CommandTimeout, c.SubmissionTimeout = 60*time.Second, 60*time.Second
	return c, nil
}

// send delivers msg as it is in one transaction from from to rcpts, over
// plain SMTP (go-smtp would verify the sandbox's self-signed certificate
// after STARTTLS) after EHLO client.example. Any refusal fails the test.
func send(t *testing.T, addr, from string, rcpts []string, msg []byte) {
	t.Helper()
	c, err := dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		t.Fatalf("send: EHLO: %v", err)
	}
	// SendMail asks for SMTPUTF8 when an address is not ASCII.
	if err := c.SendMail(from, rcpts, bytes.NewReader(msg)); err != nil {
		t.Fatalf("send: %v", err)
	}
	if err := c.Quit(); err != nil {
		t.Fatalf("send: QUIT: %v", err)
	}
}
