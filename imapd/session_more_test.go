package imapd

import (
	"bufio"
	"compress/flate"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/imapd/imap"
	"postern.dev/postern/libmail/mailbox"
)

// TestIdleTimeout: a client silent past the timeout, between commands
// or in IDLE, gets BYE.
func TestIdleTimeout(t *testing.T) {
	for _, idle := range []bool{false, true} {
		a, b := net.Pipe()
		done := make(chan error, 1)
		go func() {
			_, err := Serve(context.Background(), b, mailbox.NewMemory(now, 0), "a0", Config{Timeout: 100 * time.Millisecond, Now: now})
			b.Close()
			done <- err
		}()
		a.SetDeadline(time.Now().Add(5 * time.Second))
		r := bufio.NewReader(a)
		r.ReadString('\n')
		if idle {
			fmt.Fprintf(a, "i1 IDLE\r\n")
			if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "+ ") {
				t.Fatalf("IDLE: %q", l)
			}
		}
		l, _ := r.ReadString('\n')
		if l != "* BYE Disconnected for inactivity.\r\n" {
			t.Errorf("idle=%v: got %q", idle, l)
		}
		if err := <-done; err != nil {
			t.Errorf("idle=%v: Serve: %v", idle, err)
		}
		a.Close()
	}
}

// TestCompress: after COMPRESS DEFLATE both directions are raw deflate.
func TestCompress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		Serve(context.Background(), nc, mailbox.NewMemory(now, 0), "a0", Config{Now: now, Compress: true})
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(nc)
	r.ReadString('\n')
	fmt.Fprintf(nc, "c1 COMPRESS DEFLATE\r\n")
	if l, _ := r.ReadString('\n'); l != "c1 OK DEFLATE active\r\n" {
		t.Fatalf("COMPRESS: %q", l)
	}
	fw, _ := flate.NewWriter(nc, flate.DefaultCompression)
	fmt.Fprintf(fw, "c2 NOOP\r\n")
	fw.Flush()
	zr := bufio.NewReader(flate.NewReader(io.MultiReader(r, nc)))
	if l, _ := zr.ReadString('\n'); l != "c2 OK NOOP completed.\r\n" {
		t.Errorf("compressed NOOP: %q", l)
	}
}

// TestDeletedUnderSession: a session whose selected folder another one
// deletes says BYE at its next command.
func TestDeletedUnderSession(t *testing.T) {
	store := mailbox.NewMemory(now, 0)
	if err := store.Create(context.Background(), "Gone"); err != nil {
		t.Fatal(err)
	}
	c, _ := startSession(t, store)
	c.send("s1 SELECT Gone\r\n")
	c.until("s1")
	if err := store.Delete(context.Background(), "Gone"); err != nil {
		t.Fatal(err)
	}
	c.send("s2 NOOP\r\n")
	if l := c.line(); !strings.HasPrefix(l, "* BYE ") {
		t.Errorf("got %q", l)
	}
}

func TestMissingUIDs(t *testing.T) {
	msgs := []mailbox.Message{{UID: 2}, {UID: 5}, {UID: 6}, {UID: 9}}
	set := func(s string) imap.SeqSet {
		c, err := imap.ParseCommand([]byte("x UID FETCH "+s+" FLAGS\r\n"), imap.DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		return c.Args.(*imap.Fetch).Set
	}
	for _, tc := range []struct {
		set     string
		uidNext uint32
		want    string
	}{
		{"1:*", 11, "1,3:4,7:8,10"},
		{"1:4000000000", 10, "1,3:4,7:8"},
		{"5:6", 10, ""},
		{"4,3,7", 10, "3:4,7"},
		{"1:*", 1, ""},
	} {
		got := imap.SeqSet{Ranges: missingUIDs(set(tc.set), msgs, tc.uidNext)}.String()
		if got != tc.want {
			t.Errorf("%s (uidnext %d): got %q, want %q", tc.set, tc.uidNext, got, tc.want)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	for _, tc := range []struct {
		pat, name string
		want      bool
	}{
		{"*", "Work/Projects", true},
		{"%", "Work/Projects", false},
		{"%", "Work", true},
		{"Work/%", "Work/Projects", true},
		{"Work/%", "Work/Projects/2026", false},
		{"W*s", "Work/Projects", true},
		{"inbox", "INBOX", true},
		{"Inbox/%", "INBOX/sub", true},
		{"inbox", "Inbox2", false},
		{"", "INBOX", false},
	} {
		if got := matchPattern(tc.pat, tc.name); got != tc.want {
			t.Errorf("matchPattern(%q, %q) = %v", tc.pat, tc.name, got)
		}
	}
}
