package imapd

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/mailbox"
)

// FuzzSession feeds a client's bytes to a session on an in-memory
// mailbox with two messages: whatever the client sends, the session
// must not panic and must end when the input does. The seeds are in
// testdata/fuzz/FuzzSession.
func FuzzSession(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		store := mailbox.NewMemory(func() time.Time { return clock }, 1<<16)
		for _, m := range []string{"Subject: x\r\n\r\nbody\r\n", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b--\r\n"} {
			store.Append(context.Background(), "INBOX", nil, time.Time{}, strings.NewReader(m))
		}
		conn := struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(in), io.Discard}
		Serve(context.Background(), conn, store, "a0", Config{Now: now})
	})
}
