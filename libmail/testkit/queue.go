package testkit

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"postern.dev/postern/libmail/queue"
)

// Enqueue commits an entry with env and msg (CRLF wire form) into
// incoming/, with header fields prepended as a queue writer adds those
// decided at the end of DATA, and moves it to queue q (active/ for an
// agent's tests, as qmgr would). An envelope without an arrival time or
// protocol gets a second ago and ESMTP.
func Enqueue(t testing.TB, spool *queue.Spool, q string, env queue.Envelope, msg string, prepend ...string) queue.ID {
	t.Helper()
	if env.Arrival.IsZero() {
		env.Arrival = time.Now().Add(-time.Second)
	}
	if env.Proto == "" {
		env.Proto = "ESMTP"
	}
	id := spool.NewID()
	w, err := spool.Create(id, &env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, msg); err != nil {
		t.Fatal(err)
	}
	for _, f := range prepend {
		if err := w.Prepend([]byte(f)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if q != queue.Incoming {
		if err := spool.Move(id, queue.Incoming, q); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// Recipients makes the recipient list of an envelope.
func Recipients(addrs ...string) []queue.Recipient {
	out := make([]queue.Recipient, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, queue.Recipient{Addr: a})
	}
	return out
}

// MakeSpool makes the spool's directory tree (queue.Layout) under root,
// which it creates if need be, and returns root.
func MakeSpool(t testing.TB, root string) string {
	t.Helper()
	if err := os.MkdirAll(root, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, d := range queue.Layout {
		if err := os.Mkdir(filepath.Join(root, d.Name), d.Mode); err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
	}
	return root
}
