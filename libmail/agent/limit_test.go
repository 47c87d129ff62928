package agent

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/testkit"

	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/delivery"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
)

// hugeReply answers a request with a result per recipient whose text
// is the same text repeated: '<' is six bytes in JSON.
func hugeReply(text string) Handler {
	return func(ctx context.Context, req *delivery.Request) *delivery.Reply {
		rep := &delivery.Reply{Type: delivery.ReplyType, Seq: req.Seq}
		for _, i := range req.Rcpts {
			rep.Results = append(rep.Results, delivery.Result{Rcpt: i, Status: string(queue.Deferred), DSN: "4.7.1",
				Relay: "mx.example.net[192.0.2.1]:25", Reply: text})
		}
		return rep
	}
}

// TestServeFitsFrame: a reply whose results would make a frame larger
// than ipc.MaxFrame is cut to fit, and sent; the connection, and the
// other deliveries on it, are not given up for it.
func TestServeFitsFrame(t *testing.T) {
	huge := "451-4.7.1 " + strings.Repeat("<spam&eggs> ", 40000)
	for _, tc := range []struct {
		name   string
		rcpts  int
		text   string
		intact bool // every result arrives, with text
	}{
		{"one recipient, huge text", 1, huge, true},
		{"fifty recipients, long texts", 50, huge[:20000], true},
		{"a thousand recipients, bounded texts", 1000, huge[:delivery.MaxReplyText], true},
		{"too many recipients for a frame", 30000, "x", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logBuf testkit.LogBuffer
			log := maillog.ForWriter(&logBuf, "test", "host", time.Now)
			c, _ := serveHandler(t, hugeReply(tc.text), log)
			rcpts := make([]int, tc.rcpts)
			for i := range rcpts {
				rcpts[i] = i
			}
			id := "1J206RINHTF60UBI"
			for seq := uint64(1); seq <= 2; seq++ {
				if err := c.SendFlush(delivery.Request{Type: delivery.RequestType, Seq: seq, ID: id, Queue: queue.Active, Rcpts: rcpts}); err != nil {
					t.Fatal(err)
				}
				c.SetReadDeadline(time.Now().Add(20 * time.Second))
				var rep delivery.Reply
				if err := c.Recv(&rep); err != nil {
					t.Fatalf("request %d: no reply: %v", seq, err)
				}
				if err := rep.Validate(); err != nil || rep.Seq != seq {
					t.Fatalf("request %d: reply seq %d: %v", seq, rep.Seq, err)
				}
				b, _ := json.Marshal(&rep)
				if len(b) >= ipc.MaxFrame {
					t.Errorf("reply of %d bytes", len(b))
				}
				if tc.intact && len(rep.Results) != tc.rcpts {
					t.Errorf("%d results for %d recipients", len(rep.Results), tc.rcpts)
				}
				if len(rep.Results) == 0 {
					t.Fatalf("no results at all")
				}
				for _, r := range rep.Results {
					if tc.intact && (r.Reply == "" || !strings.HasPrefix(tc.text, strings.TrimSuffix(r.Reply, maillog.Truncated))) {
						t.Fatalf("result text %.100q is not a prefix of the text", r.Reply)
					}
				}
			}
			if strings.Contains(logBuf.String(), "too large") {
				t.Errorf("log:\n%s", logBuf.String())
			}
		})
	}
}

// TestRecordBoundsReply: whatever reply text an agent hands over, the
// entry and qmgr get at most MaxReplyText bytes of it.
func TestRecordBoundsReply(t *testing.T) {
	spool, id := activeEntry(t)
	f, _ := spool.OpenEntry(queue.Active, id, true)
	defer f.Close()
	st, _ := f.Stat()
	before := st.Size()
	req := &delivery.Request{Type: delivery.RequestType, ID: string(id), Queue: queue.Active, Rcpts: []int{0, 1}}
	text := "command output: " + strings.Repeat("0123456789", 100000)
	rep := &delivery.Reply{Type: delivery.ReplyType}
	var recs []queue.Record
	for _, i := range req.Rcpts {
		r := queue.Result{Rcpt: i, Status: queue.Deferred, DSN: "4.3.0", Relay: "local", Reply: text}
		rep.Results = append(rep.Results, delivery.FromQueue(r))
		recs = append(recs, queue.ResultRecord{Result: r})
	}
	got := Record(spool, f, req, rep, recs, maillog.Discard(), "local")
	for _, r := range got.Results {
		if len(r.Reply) > delivery.MaxReplyText || !strings.HasSuffix(r.Reply, maillog.Truncated) {
			t.Errorf("result text of %d bytes: %.60q", len(r.Reply), r.Reply)
		}
	}
	e, err := queue.Read(f, id)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range e.State {
		if len(s.Reply) > delivery.MaxReplyText || !strings.HasPrefix(text, strings.TrimSuffix(s.Reply, maillog.Truncated)) {
			t.Errorf("recipient %d: recorded text of %d bytes", i, len(s.Reply))
		}
	}
	st, _ = os.Stat(f.Name())
	if grown := st.Size() - before; grown > 2*(delivery.MaxReplyText+100) {
		t.Errorf("entry grew by %d bytes", grown)
	}
}
