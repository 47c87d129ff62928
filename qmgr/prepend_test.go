package qmgr

import (
	"io"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/queue"
)

const prependedFields = "Authentication-Results: mail.example.test;\r\n\tspf=pass smtp.mailfrom=example.org\r\n"

// TestBounceReturnsPrependedHeader: a failure notice returns the message
// as every reader of the entry sees it, the header fields prepended after
// the body (queue.Writer.Prepend) included: all of it for RET=FULL, its
// header for RET=HDRS.
func TestBounceReturnsPrependedHeader(t *testing.T) {
	complete := prependedFields + testMsg
	for _, ret := range []string{"FULL", "HDRS"} {
		t.Run(ret, func(t *testing.T) {
			h := newHarness(t, harnessOptions{answer: failOriginals})
			env := &queue.Envelope{Arrival: h.clock.Now().Add(-time.Second), Sender: "sender@example.org", Ret: ret,
				Recipients: rcpts("nobody@example.test"), Proto: "ESMTP"}
			id := h.spool.NewID()
			w, err := h.spool.Create(id, env)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(w, testMsg)
			if err := w.Prepend([]byte(prependedFields)); err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
			h.start()
			var bounce seen
			for range 2 {
				if s := h.next(); s.entry.Bounce {
					bounce = s
				} else if s.msg != complete {
					t.Errorf("the agent read %q, want %q", s.msg, complete)
				}
			}
			if bounce.entry == nil {
				t.Fatal("no notice was dispatched")
			}
			r := parseDSN(t, bounce.msg)
			switch ret {
			case "FULL":
				if r.returnedType != "message/rfc822" || r.returned != complete {
					t.Errorf("returned %s %q, want the complete message %q", r.returnedType, r.returned, complete)
				}
			case "HDRS":
				if head, _, _ := strings.Cut(complete, "\r\n\r\n"); r.returnedType != "text/rfc822-headers" ||
					strings.TrimRight(r.returned, "\r\n") != head {
					t.Errorf("returned %s %q, want the header %q", r.returnedType, r.returned, head)
				}
			}
		})
	}
}
