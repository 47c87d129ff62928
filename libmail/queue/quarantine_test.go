package queue

import (
	"io"
	"os"
	"strings"
	"testing"
)

// TestQuarantineRecord: a quarantine decided at the end of the message is
// part of the commit, read back into Entry.Quarantine, and does not show
// in the message; progress records appended later still parse after it.
func TestQuarantineRecord(t *testing.T) {
	for _, spare := range []bool{false, true} {
		s := testSpool(t)
		if spare {
			old := writeEntry(t, s, testEnvelope(), strings.Repeat("old message line\r\n", 10000))
			if err := s.Recycle(Incoming, old); err != nil {
				t.Fatal(err)
			}
		}
		id := s.NewID()
		w, err := s.Create(id, testEnvelope())
		if err != nil {
			t.Fatal(err)
		}
		msg := "Subject: hi\r\n\r\nbody\r\n"
		io.WriteString(w, msg)
		ar := "Authentication-Results: mail.example.test; dmarc=fail header.from=example.org\r\n"
		if err := w.Prepend([]byte(ar)); err != nil {
			t.Fatal(err)
		}
		w.Record(QuarantineRecord{Reason: "dmarc=fail (p=quarantine) header.from=example.org"})
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(s.Path(Incoming, id), os.O_RDWR|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := Append(f, ResultRecord{Result{Rcpt: 0, Status: Sent, DSN: "2.0.0", Relay: "local", Reply: "delivered to maildir"}}); err != nil {
			t.Fatal(err)
		}
		e, err := Read(f, id)
		if err != nil {
			t.Fatal(err)
		}
		if e.Quarantine != "dmarc=fail (p=quarantine) header.from=example.org" {
			t.Errorf("spare=%v: Quarantine %q", spare, e.Quarantine)
		}
		if e.State[0].Status != Sent {
			t.Errorf("spare=%v: the progress record after the quarantine is lost: %+v", spare, e.State[0])
		}
		b, err := io.ReadAll(e.Message(f))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != ar+msg {
			t.Errorf("spare=%v: message %q, want %q", spare, b, ar+msg)
		}
	}
	// Without the record, no quarantine.
	s := testSpool(t)
	id := writeEntry(t, s, testEnvelope(), "Subject: x\r\n\r\nbody\r\n")
	f, _ := os.Open(s.Path(Incoming, id))
	defer f.Close()
	if e, err := Read(f, id); err != nil || e.Quarantine != "" {
		t.Errorf("Quarantine %q, %v", e.Quarantine, err)
	}
}
