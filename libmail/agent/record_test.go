package agent

import (
	"os"
	"testing"
	"time"

	"postern.dev/postern/libmail/testkit"

	"postern.dev/postern/libmail/ipc/delivery"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
)

func activeEntry(t *testing.T) (*queue.Spool, queue.ID) {
	t.Helper()
	spool := queue.Open(testkit.MakeSpool(t, t.TempDir()), time.Now)
	t.Cleanup(func() { spool.Close() })
	id := testkit.Enqueue(t, spool, queue.Active, queue.Envelope{Arrival: time.Now(), Sender: "s@example.org",
		Recipients: testkit.Recipients("a@example.test", "b@example.test")}, "Subject: x\r\n\r\nbody\r\n")
	return spool, id
}

func results(req *delivery.Request, st queue.Status) (*delivery.Reply, []queue.Record) {
	rep := &delivery.Reply{Type: delivery.ReplyType, Seq: req.Seq}
	var recs []queue.Record
	for _, i := range req.Rcpts {
		r := queue.Result{Rcpt: i, Status: st, DSN: "2.0.0", Relay: "local", Reply: "ok"}
		rep.Results = append(rep.Results, delivery.FromQueue(r))
		recs = append(recs, queue.ResultRecord{Result: r})
	}
	return rep, recs
}

func TestRecord(t *testing.T) {
	log := maillog.Discard()
	t.Run("last and all sent removes", func(t *testing.T) {
		spool, id := activeEntry(t)
		f, _ := spool.OpenEntry(queue.Active, id, true)
		defer f.Close()
		req := &delivery.Request{Type: delivery.RequestType, ID: string(id), Queue: queue.Active, Rcpts: []int{0, 1}, Last: true}
		rep, recs := results(req, queue.Sent)
		if got := Record(spool, f, req, rep, recs, log, "local"); !got.Removed {
			t.Errorf("reply %+v, want Removed", got)
		}
		if _, err := os.Stat(spool.Path(queue.Active, id)); !os.IsNotExist(err) {
			t.Errorf("entry still in active/: %v", err)
		}
	})
	t.Run("not last records", func(t *testing.T) {
		spool, id := activeEntry(t)
		f, _ := spool.OpenEntry(queue.Active, id, true)
		defer f.Close()
		req := &delivery.Request{Type: delivery.RequestType, ID: string(id), Queue: queue.Active, Rcpts: []int{1}}
		rep, recs := results(req, queue.Sent)
		if got := Record(spool, f, req, rep, recs, log, "local"); got.Removed || got.Results[0].Status != "sent" {
			t.Errorf("reply %+v", got)
		}
		e, err := queue.Read(f, id)
		if err != nil || e.State[1].Status != queue.Sent || e.State[0].Status == queue.Sent {
			t.Errorf("recorded state %+v, %v", e.State, err)
		}
	})
	t.Run("unrecordable results are deferred", func(t *testing.T) {
		spool, id := activeEntry(t)
		f, err := os.Open(spool.Path(queue.Active, id)) // read-only: appends fail
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		req := &delivery.Request{Type: delivery.RequestType, ID: string(id), Queue: queue.Active, Rcpts: []int{0, 1}}
		rep, recs := results(req, queue.Sent)
		got := Record(spool, f, req, rep, recs, log, "local")
		for _, r := range got.Results {
			if r.Status != "deferred" || r.DSN != "4.3.0" {
				t.Errorf("result %+v, want deferred 4.3.0", r)
			}
		}
	})
}

func TestOpen(t *testing.T) {
	log := maillog.Discard()
	spool, id := activeEntry(t)
	req := &delivery.Request{Type: delivery.RequestType, ID: string(id), Queue: queue.Active, Rcpts: []int{0, 1}}
	f, e, fail := Open(spool, req, log, "local")
	if fail != nil || len(e.Recipients) != 2 {
		t.Fatalf("Open: %+v, %+v", e, fail)
	}
	f.Close()
	for name, r := range map[string]*delivery.Request{
		"bad index":     {Type: delivery.RequestType, ID: string(id), Queue: queue.Active, Rcpts: []int{2}},
		"missing entry": {Type: delivery.RequestType, ID: string(spool.NewID()), Queue: queue.Active, Rcpts: []int{0}},
	} {
		if _, _, fail := Open(spool, r, log, "local"); fail == nil || fail.Results[0].Status != "deferred" {
			t.Errorf("%s: reply %+v, want every recipient deferred", name, fail)
		}
	}
}
