package e2e

import (
	"crypto/tls"
	"errors"
	"net/mail"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// plainAuth is a SASL PLAIN client (RFC 4616) in the shape go-smtp's
// Client.Auth takes.
type plainAuth struct{ user, pass string }

func (a plainAuth) Start() (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a plainAuth) Next([]byte) ([]byte, error) { return nil, errors.New("unexpected challenge") }

// sendGoSMTP sends msg with go-smtp's client, with STARTTLS and AUTH
// PLAIN when auth is set.
func sendGoSMTP(t *testing.T, addr string, auth bool, from, to, msg string) {
	t.Helper()
	var c *gosmtp.Client
	var err error
	if auth {
		c, err = gosmtp.DialStartTLS(addr, &tls.Config{InsecureSkipVerify: true})
	} else {
		c, err = gosmtp.Dial(addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	if auth {
		if err := c.Auth(plainAuth{"demo@example.test", "demo"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Mail(from, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(to, nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c.Quit()
}

// TestSubmissionAddsMissingHeaders: a message submitted on 587 (STARTTLS,
// AUTH PLAIN) without Date: and Message-ID: arrives in the Maildir with
// one of each, the Message-ID: naming the queue ID, as RFC 6409 §8 lets a
// submission server do; the same message on port 25 without AUTH arrives
// without them, as RFC 5321 §6.4 wants of a relay.
func TestSubmissionAddsMissingHeaders(t *testing.T) {
	s := NewSystem(t, Options{})
	const body = "From: demo@example.test\r\nTo: demo@example.test\r\nSubject: %s\r\n\r\nno date, no id\r\n"
	sendGoSMTP(t, s.Addr(587), true, "demo@example.test", "demo@example.test", strings.Replace(body, "%s", "via-587", 1))
	sendGoSMTP(t, s.Addr(25), false, "someone@example.org", "demo@example.test", strings.Replace(body, "%s", "via-25", 1))
	names := s.WaitMessages("demo@example.test", 2, 15*time.Second)
	seen := map[string]bool{}
	idRE := regexp.MustCompile(`^<([0-9A-V]{16})@[^>]+>$`)
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		subject := m.Header.Get("Subject")
		seen[subject] = true
		dates, ids := m.Header["Date"], m.Header["Message-Id"]
		switch subject {
		case "via-587":
			if len(dates) != 1 || len(ids) != 1 {
				t.Fatalf("submission arrived with Date: %q and Message-ID: %q, want one of each", dates, ids)
			}
			if _, err := mail.ParseDate(dates[0]); err != nil {
				t.Errorf("added Date: %q: %v", dates[0], err)
			}
			id := idRE.FindStringSubmatch(ids[0])
			if id == nil {
				t.Fatalf("added Message-ID: %q", ids[0])
			}
			if !strings.Contains(s.Log(), id[1]+": message-id="+ids[0]) {
				t.Errorf("the log does not name the added message-id %s", ids[0])
			}
			if rcvd := m.Header.Get("Received"); !strings.Contains(rcvd, "with ESMTPSA id "+id[1]) {
				t.Errorf("Received: %q", rcvd)
			}
		case "via-25":
			if len(dates) != 0 || len(ids) != 0 {
				t.Errorf("mail on port 25 got Date: %q and Message-ID: %q added", dates, ids)
			}
		default:
			t.Errorf("unexpected message %q", subject)
		}
	}
	if !seen["via-587"] || !seen["via-25"] {
		t.Errorf("delivered %v", seen)
	}
}
