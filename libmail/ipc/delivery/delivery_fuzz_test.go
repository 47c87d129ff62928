package delivery

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/libmail/testkit"
)

// FuzzRequest decodes arbitrary bytes as a delivery request the way a
// delivery agent does (ipc.Decode, then Validate). A request that
// validates names an entry in active/ by a valid ID, and one or more
// recipients by non-negative index.
func FuzzRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r := testkit.DecodeValid[Request](t, data)
		if r == nil {
			return
		}
		if r.Type != RequestType {
			t.Fatalf("validated a request of type %q", r.Type)
		}
		if !queue.Valid(r.ID) {
			t.Fatalf("validated bad queue ID %q", r.ID)
		}
		if p := filepath.Join("/spool", r.Queue, r.ID); p != "/spool/"+queue.Active+"/"+r.ID {
			t.Fatalf("request for %q in %q reaches %s", r.ID, r.Queue, p)
		}
		if len(r.Rcpts) == 0 {
			t.Fatal("validated a request without recipients")
		}
		for _, i := range r.Rcpts {
			if i < 0 {
				t.Fatalf("validated recipient index %d", i)
			}
		}
	})
}

// FuzzReply decodes arbitrary bytes as a delivery reply the way qmgr
// does. A reply that validates has the reply type and, for every result,
// a known final or temporary status and a non-negative recipient index
// that can be used to index an entry's recipients.
func FuzzReply(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r := testkit.DecodeValid[Reply](t, data)
		if r == nil {
			return
		}
		if r.Type != ReplyType {
			t.Fatalf("validated a reply of type %q", r.Type)
		}
		for _, res := range r.Results {
			switch q := res.Queue(); q.Status {
			case queue.Sent, queue.Failed, queue.Deferred:
			default:
				t.Fatalf("validated status %q", res.Status)
			}
			if res.Rcpt < 0 {
				t.Fatalf("validated recipient index %d", res.Rcpt)
			}
			if back := FromQueue(res.Queue()); back != res {
				t.Fatalf("result %+v converts back as %+v", res, back)
			}
		}
		checkFit(t, r, len(data)/3)
	})
}

// checkFit cuts a copy of r to limit bytes as an agent does before it
// sends a reply, and checks the cut: it fits (unless even a reply
// without results would not), it still validates, and every result left
// is the original's with its text kept or shortened.
func checkFit(t *testing.T, r *Reply, limit int) {
	t.Helper()
	cut := *r
	cut.Results = append([]Result(nil), r.Results...)
	cut.Fit(limit)
	b, _ := json.Marshal(&cut)
	empty := *r
	empty.Results = nil
	e, _ := json.Marshal(&empty)
	if len(b) > limit && len(e) <= limit {
		t.Fatalf("cut to %d bytes, the reply is %d: %s", limit, len(b), b)
	}
	if err := cut.Validate(); err != nil {
		t.Fatalf("cut reply does not validate: %v", err)
	}
	if len(cut.Results) > len(r.Results) {
		t.Fatalf("cutting added results")
	}
	for i, c := range cut.Results {
		o := r.Results[i]
		text := c.Reply
		c.Reply, o.Reply = "", ""
		if c != o {
			t.Fatalf("result %d was %+v, is %+v", i, r.Results[i], cut.Results[i])
		}
		if text != r.Results[i].Reply && !strings.HasPrefix(r.Results[i].Reply, strings.TrimSuffix(text, maillog.Truncated)) {
			t.Fatalf("result %d text %q, cut to %q", i, r.Results[i].Reply, text)
		}
	}
}
