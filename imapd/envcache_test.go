package imapd

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/mailbox"
)

// TestEnvelopeCache: a later session answers FETCH ENVELOPE from the
// folder's cache of rendered envelopes with the same bytes the first
// rendered, and an envelope whose rendering depends on UTF8=ACCEPT (raw
// UTF-8 in a header) is not cached, so a client that enabled UTF-8
// gets a quoted string where the others get a literal.
func TestEnvelopeCache(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "Maildir")
	open := func() mailbox.Store { return openMaildir(t, root) }
	store := open()
	for _, m := range []string{
		"From: Ann <ann@example.test>\r\nSubject: plain\r\nMessage-ID: <1@example.test>\r\n\r\nbody\r\n",
		"From: ann@example.test\r\nSubject: caf\xc3\xa9\r\n\r\nbody\r\n",
		"From: =?UTF-8?Q?Andr=C3=A9?= <andre@example.test>\r\nSubject: =?UTF-8?Q?caf=C3=A9?=\r\n\r\nbody\r\n",
	} {
		if _, err := store.Append(ctx, "INBOX", nil, time.Time{}, strings.NewReader(m)); err != nil {
			t.Fatal(err)
		}
	}
	fetch := func(store mailbox.Store, utf8 bool) string {
		c, _ := startSession(t, store)
		if utf8 {
			c.send("e ENABLE UTF8=ACCEPT\r\n")
			c.until("e")
		}
		c.send("s SELECT INBOX\r\n")
		c.until("s")
		c.send("f FETCH 1:* (ENVELOPE)\r\n")
		out := c.until("f")
		c.send("l LOGOUT\r\n")
		c.until("l")
		// The folder is closed, and its caches written, before the
		// connection is.
		io.Copy(io.Discard, c.r)
		return out
	}
	first := fetch(store, false)
	data, err := os.ReadFile(filepath.Join(root, "postern-cache.imap-envelope"))
	if err != nil {
		t.Fatalf("no envelope cache after the first FETCH: %v", err)
	}
	if n := strings.Count(string(data), "\n("); n != 2 {
		t.Errorf("the cache holds %d envelopes, want 2 (not the one with raw UTF-8):\n%s", n, data)
	}
	if again := fetch(open(), false); again != first {
		t.Errorf("from the cache:\n%s\nrendered:\n%s", again, first)
	}
	if !strings.Contains(first, "{5}\ncafé") {
		t.Errorf("without UTF8=ACCEPT the raw UTF-8 subject is not a literal:\n%s", first)
	}
	if utf := fetch(open(), true); !strings.Contains(utf, `"café"`) {
		t.Errorf("with UTF8=ACCEPT the raw UTF-8 subject is not quoted:\n%s", utf)
	}
}

// openMaildir opens the Maildir store at root for a test, closed at its
// end.
func openMaildir(t *testing.T, root string) *mailbox.Maildir {
	t.Helper()
	s, err := mailbox.Open(context.Background(), root, mailbox.Options{Hostname: "test", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
