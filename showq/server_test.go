package showq

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/ipc/showq"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/libmail/testkit"
)

// serve starts a server on the showq socket of a fresh spool and returns
// the spool.
func serve(t *testing.T) *queue.Spool {
	t.Helper()
	root := testkit.MakeSpool(t, filepath.Join(t.TempDir(), "spool"))
	spool := queue.Open(root, time.Now)
	l, err := net.Listen("unix", showq.Path(root))
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(spool, maillog.Discard())
	go srv.Serve(l)
	t.Cleanup(func() { l.Close(); srv.Close() })
	return spool
}

func list(t *testing.T, root string, qs ...string) []*queue.Summary {
	t.Helper()
	var out []*queue.Summary
	err := showq.List(context.Background(), root, qs, func(s *queue.Summary) error {
		out = append(out, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestList(t *testing.T) {
	spool := serve(t)
	env := queue.Envelope{Sender: "alice@example.org", Recipients: testkit.Recipients("bob@remote.test")}
	a := testkit.Enqueue(t, spool, queue.DeferredQueue, env, "Subject: a\r\n\r\nsecret body\r\n")
	b := testkit.Enqueue(t, spool, queue.Hold, env, "Subject: b\r\n\r\n")
	testkit.Enqueue(t, spool, queue.Corrupt, env, "Subject: c\r\n\r\n")
	got := list(t, spool.Root(), queue.ListQueues...)
	if len(got) != 2 || got[0].ID != a || got[0].Queue != queue.DeferredQueue || got[1].ID != b || got[1].Queue != queue.Hold {
		t.Fatalf("listing %+v", got)
	}
	if got[0].Sender != "alice@example.org" || got[0].Recipients[0].Address != "bob@remote.test" {
		t.Errorf("summary %+v", got[0])
	}
	if got := list(t, spool.Root(), queue.Hold); len(got) != 1 || got[0].ID != b {
		t.Errorf("hold only: %+v", got)
	}
}

// TestRefusesOtherQueues: tmp/, corrupt/ and paths are not listed, and
// the client hears why.
func TestRefusesOtherQueues(t *testing.T) {
	spool := serve(t)
	for _, q := range []string{queue.Tmp, queue.Corrupt, "../../etc"} {
		err := showq.List(context.Background(), spool.Root(), []string{q}, func(*queue.Summary) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "showq request for queue") {
			t.Errorf("list %s: %v", q, err)
		}
	}
}

// TestHugeEntryFits: an entry whose summary would not fit in a frame is
// sent with short reasons and as many recipients as fit, the rest
// counted.
func TestHugeEntryFits(t *testing.T) {
	spool := serve(t)
	var addrs []string
	for i := range 4000 {
		addrs = append(addrs, fmt.Sprintf("%s%d@example.test", strings.Repeat("r", 200), i))
	}
	env := queue.Envelope{Sender: "alice@example.org", Recipients: testkit.Recipients(addrs...)}
	id := testkit.Enqueue(t, spool, queue.DeferredQueue, env, "Subject: a\r\n\r\n")
	f, err := spool.OpenEntry(queue.DeferredQueue, id, true)
	if err != nil {
		t.Fatal(err)
	}
	var recs []queue.Record
	for i := range addrs {
		recs = append(recs, queue.ResultRecord{Result: queue.Result{Rcpt: i, Status: queue.Deferred, DSN: "4.4.1", Relay: "none", Reply: strings.Repeat("x", 900)}})
	}
	if err := queue.Append(f, recs...); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got := list(t, spool.Root(), queue.DeferredQueue)
	if len(got) != 1 || len(got[0].Recipients) == 0 || len(got[0].Recipients) >= len(addrs) {
		t.Fatalf("got %d entries", len(got))
	}
	if r := got[0].Recipients[0].DelayReason; len(r) > 100 {
		t.Errorf("reason of %d bytes", len(r))
	}
	rep := fit(got[0])
	if rep.Omitted != 0 {
		t.Errorf("refitting what fits omitted %d", rep.Omitted)
	}
	full := &queue.Summary{ID: id, Queue: queue.DeferredQueue}
	for _, a := range addrs {
		full.Recipients = append(full.Recipients, queue.RcptSummary{Address: a, DelayReason: strings.Repeat("x", 900)})
	}
	rep = fit(full)
	if rep.Omitted+len(rep.Entry.Recipients) != len(addrs) || rep.Omitted == 0 || size(rep) >= frameRoom {
		t.Errorf("fit: %d sent, %d omitted, %d bytes", len(rep.Entry.Recipients), rep.Omitted, size(rep))
	}
	if len(full.Recipients[0].DelayReason) != 900 {
		t.Errorf("fit changed the caller's summary")
	}
}

// TestNoSocket: without a showq, the client says it could not connect,
// which postern queue list takes for "the mail system is down".
func TestNoSocket(t *testing.T) {
	root := testkit.MakeSpool(t, filepath.Join(t.TempDir(), "spool"))
	err := showq.List(context.Background(), root, queue.ListQueues, func(*queue.Summary) error { return nil })
	var de *showq.DialError
	if !errors.As(err, &de) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("List without a socket: %v", err)
	}
}
