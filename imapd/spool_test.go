package imapd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAppendSpool: an APPEND of 64 KiB or more goes through an unlinked
// file in SpoolDir and arrives whole; no file is left there, neither
// after it nor after a client that hangs up in the middle of one.
func TestAppendSpool(t *testing.T) {
	ctx := context.Background()
	store := openMaildir(t, filepath.Join(t.TempDir(), "Maildir"))
	spoolDir := t.TempDir()
	var body strings.Builder
	body.WriteString("Subject: big\r\n\r\n")
	for i := 0; body.Len() < 200<<10; i++ {
		fmt.Fprintf(&body, "line %d of a message too big to hold in memory\r\n", i)
	}
	msg := body.String()
	c, _ := startSessionWith(t, store, Config{Now: now, SpoolDir: spoolDir})
	c.send(fmt.Sprintf("a APPEND INBOX {%d+}\r\n%s\r\n", len(msg), msg))
	if out := c.until("a"); !strings.Contains(out, "a OK [APPENDUID ") {
		t.Fatalf("APPEND: %s", out)
	}
	c.send("s SELECT INBOX\r\nf FETCH 1 (BODY.PEEK[])\r\n")
	c.until("s")
	out := c.until("f")
	if got := strings.ReplaceAll(msg, "\r\n", "\n"); !strings.Contains(out, got) {
		t.Fatalf("the message came back changed (%d octets of response)", len(out))
	}
	// One that never ends: the client hangs up after half of it.
	c.send(fmt.Sprintf("b APPEND INBOX {%d+}\r\n%s", len(msg), msg[:len(msg)/2]))
	c.conn.Close()
	<-c.done
	c.done <- nil // for the cleanup
	if left, _ := os.ReadDir(spoolDir); len(left) != 0 {
		t.Errorf("left in the spool directory: %v", left)
	}
	f, _ := store.Select(ctx, "INBOX", true)
	if n := len(f.Messages()); n != 1 {
		t.Errorf("%d messages in INBOX, want 1", n)
	}
	f.Close()
	// Proof that the big one went through SpoolDir: with none there, it
	// is refused, and a small one still goes through memory.
	d, _ := startSessionWith(t, store, Config{Now: now, SpoolDir: filepath.Join(spoolDir, "gone")})
	d.send(fmt.Sprintf("a APPEND INBOX {%d+}\r\n%s\r\n", len(msg), msg))
	if out := d.until("a"); !strings.Contains(out, "a NO ") {
		t.Errorf("APPEND without a spool directory: %s", out)
	}
	d.send("b APPEND INBOX {12+}\r\nSubject: x\r\n\r\n")
	if out := d.until("b"); !strings.Contains(out, "b OK ") {
		t.Errorf("a small APPEND without a spool directory: %s", out)
	}
}
