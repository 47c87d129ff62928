package queue

import (
	"os"
	"strings"
	"testing"
	"time"
)

// where returns the queue holding id, or "" when it is in none.
func where(t *testing.T, s *Spool, id ID) string {
	t.Helper()
	q, err := s.Find(id, []string{Tmp, Incoming, Active, DeferredQueue, Hold, Corrupt, Spare})
	if err != nil {
		return ""
	}
	return q
}

func TestHoldReleaseRequeue(t *testing.T) {
	s := testSpool(t)
	id := writeEntry(t, s, testEnvelope(), "Subject: x\r\n\r\nbody\r\n")
	if err := s.Move(id, Incoming, DeferredQueue); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Hold(id); !ok || err != nil {
		t.Fatalf("Hold = %v, %v", ok, err)
	}
	if q := where(t, s, id); q != Hold {
		t.Fatalf("held entry in %q", q)
	}
	// Holding what is held, or releasing what is not, changes nothing and
	// counts nothing.
	if ok, err := s.Hold(id); ok || err != nil {
		t.Errorf("second Hold = %v, %v", ok, err)
	}
	now := time.Now().Truncate(time.Second)
	if ok, err := s.Release(id, now); !ok || err != nil {
		t.Fatalf("Release = %v, %v", ok, err)
	}
	if q := where(t, s, id); q != DeferredQueue {
		t.Fatalf("released entry in %q", q)
	}
	if st, _ := os.Stat(s.Path(DeferredQueue, id)); !st.ModTime().Equal(now) {
		t.Errorf("released entry due %v, want now %v", st.ModTime(), now)
	}
	if ok, err := s.Release(id, now); ok || err != nil {
		t.Errorf("Release of a deferred entry = %v, %v", ok, err)
	}
	if ok, err := s.Requeue(id); !ok || err != nil {
		t.Fatalf("Requeue = %v, %v", ok, err)
	}
	if q := where(t, s, id); q != Incoming {
		t.Fatalf("requeued entry in %q", q)
	}
	if ok, _ := s.Requeue("0000000000000000"); ok {
		t.Errorf("Requeue of a missing entry succeeded")
	}
}

// TestAdminNeverTouchesTmp: an entry being written is invisible to every
// change, and to listings.
func TestAdminNeverTouchesTmp(t *testing.T) {
	s := testSpool(t)
	id := s.NewID()
	w, err := s.Create(id, testEnvelope())
	if err != nil {
		t.Fatal(err)
	}
	w.WriteString("Subject: x\r\n\r\n")
	for name, do := range map[string]func() (bool, error){
		"hold": func() (bool, error) { return s.Hold(id) }, "delete": func() (bool, error) { return s.Delete(id) },
		"requeue": func() (bool, error) { return s.Requeue(id) }, "expire": func() (bool, error) { return s.Expire(id, true, time.Now()) },
	} {
		if ok, err := do(); ok || err != nil {
			t.Errorf("%s of an entry in tmp/ = %v, %v", name, ok, err)
		}
	}
	if q := where(t, s, id); q != Tmp {
		t.Fatalf("entry being written moved to %q", q)
	}
	n := 0
	s.Scan(ListQueues, func(*Summary) error { n++; return nil }, nil)
	if n != 0 {
		t.Errorf("listing shows %d entries", n)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestDelete(t *testing.T) {
	s := testSpool(t)
	id := writeEntry(t, s, testEnvelope(), "Subject: x\r\n\r\nbody\r\n")
	if err := s.Move(id, Incoming, Active); err != nil {
		t.Fatal(err)
	}
	// An agent has it open: the file is unlinked, not recycled, and the
	// agent still reads the message.
	f, e, err := s.ReadEntry(Active, id)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ok, err := s.Delete(id); !ok || err != nil {
		t.Fatalf("Delete = %v, %v", ok, err)
	}
	if q := where(t, s, id); q != "" {
		t.Fatalf("deleted entry in %q", q)
	}
	b := make([]byte, e.Size)
	if _, err := e.Message(f).ReadAt(b, 0); err != nil || !strings.Contains(string(b), "body") {
		t.Errorf("open entry unreadable after delete: %q, %v", b, err)
	}
	// Nobody reading: recycled into spare/, like a finished entry.
	id2 := writeEntry(t, s, testEnvelope(), "Subject: y\r\n\r\n")
	if ok, err := s.Delete(id2); !ok || err != nil {
		t.Fatalf("Delete = %v, %v", ok, err)
	}
	if q := where(t, s, id2); q != Spare {
		t.Errorf("deleted entry in %q, want spare", q)
	}
}

func TestExpire(t *testing.T) {
	s := testSpool(t)
	now := time.Now().Truncate(time.Second)
	id := writeEntry(t, s, testEnvelope(), "Subject: x\r\n\r\n")
	s.Move(id, Incoming, DeferredQueue)
	later := now.Add(time.Hour)
	os.Chtimes(s.Path(DeferredQueue, id), later, later)
	held := writeEntry(t, s, testEnvelope(), "Subject: y\r\n\r\n")
	s.Move(held, Incoming, Hold)
	released := writeEntry(t, s, testEnvelope(), "Subject: z\r\n\r\n")
	s.Move(released, Incoming, Hold)

	for _, c := range []struct {
		id      ID
		release bool
		want    string
	}{{id, false, DeferredQueue}, {held, false, Hold}, {released, true, DeferredQueue}} {
		if ok, err := s.Expire(c.id, c.release, now); !ok || err != nil {
			t.Fatalf("Expire = %v, %v", ok, err)
		}
		q := where(t, s, c.id)
		if q != c.want {
			t.Errorf("expired entry in %q, want %q", q, c.want)
		}
		f, e, err := s.ReadEntry(q, c.id)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if !e.Expired || !e.Summarize(q).ForcedExpire {
			t.Errorf("entry not marked expired")
		}
		if q == DeferredQueue {
			if st, _ := os.Stat(s.Path(q, c.id)); !st.ModTime().Equal(now) {
				t.Errorf("expired deferred entry due %v, want now", st.ModTime())
			}
		}
	}
}

// TestAdminRacesQmgr: while the changes run, another goroutine moves the
// same entries between queues as qmgr does. Every entry ends in exactly
// one place, and a held entry is never moved out of hold by the changes
// that do not apply to it.
func TestAdminRacesQmgr(t *testing.T) {
	s := testSpool(t)
	var ids []ID
	for range 50 {
		ids = append(ids, writeEntry(t, s, testEnvelope(), "Subject: x\r\n\r\n"))
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			for _, id := range ids {
				select {
				case <-stop:
					return
				default:
				}
				// qmgr: incoming -> active -> deferred -> active ...
				if s.Move(id, Incoming, Active) != nil {
					if s.Move(id, DeferredQueue, Active) != nil {
						s.Move(id, Active, DeferredQueue)
					}
				}
			}
		}
	}()
	held := 0
	for _, id := range ids {
		ok, err := s.Hold(id)
		if err != nil && !strings.Contains(err.Error(), "moved too often") {
			t.Errorf("Hold: %v", err)
		}
		if ok {
			held++
		}
	}
	close(stop)
	<-done
	n := 0
	for _, id := range ids {
		switch where(t, s, id) {
		case "":
			t.Errorf("%s lost", id)
		case Hold:
			n++
		}
	}
	if n != held || held < 40 {
		t.Errorf("%d entries held, %d reported", n, held)
	}
}

// TestScan: summaries carry each recipient's state as the trailer
// records it; a broken entry is reported and skipped; the order is by
// queue, then by ID.
func TestScan(t *testing.T) {
	s := testSpool(t)
	a := writeEntry(t, s, testEnvelope(), "Subject: a\r\n\r\n")
	b := writeEntry(t, s, testEnvelope(), "Subject: b\r\n\r\n")
	s.Move(a, Incoming, DeferredQueue)
	f, err := s.OpenEntry(DeferredQueue, a, true)
	if err != nil {
		t.Fatal(err)
	}
	Append(f, ResultRecord{Result{Rcpt: 0, Status: Sent, DSN: "2.0.0", Relay: "local", Reply: "delivered"}},
		ResultRecord{Result{Rcpt: 1, Status: Deferred, DSN: "4.4.1", Relay: "none", Reply: "connection refused"}},
		AttemptRecord{Attempts: 2, Next: time.Unix(1900000000, 0)})
	f.Close()
	os.WriteFile(s.Path(Hold, "0000000000000000"), []byte("garbage"), 0o600)
	var got []*Summary
	var bad []ID
	err = s.Scan(ListQueues, func(sum *Summary) error { got = append(got, sum); return nil },
		func(q string, id ID, err error) { bad = append(bad, id) })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != b || got[0].Queue != Incoming || got[1].ID != a || got[1].Queue != DeferredQueue {
		t.Fatalf("scan gave %+v", got)
	}
	if len(bad) != 1 || bad[0] != "0000000000000000" {
		t.Errorf("bad entries %v", bad)
	}
	d := got[1]
	if d.Attempts != 2 || d.NextAttempt != 1900000000 || d.Sender != "bounce@example.org" || d.Size == 0 {
		t.Errorf("summary %+v", d)
	}
	r := d.Recipients
	if !r[0].Done || r[0].Status != "sent" || r[0].DelayReason != "" ||
		r[1].Done || r[1].Status != "deferred" || r[1].DelayReason != "connection refused" || r[1].DSN != "4.4.1" ||
		r[2].Status != "pending" || r[2].Address != "δοκιμή@παράδειγμα.δοκιμή" {
		t.Errorf("recipients %+v", r)
	}
}
