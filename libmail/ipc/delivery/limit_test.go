package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
)

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven1234", 9, "eleven..."},
		{"abcdefghijk", 3, "..."},
		{"ab\u00e9cd", 5, "ab..."},   // é is two bytes: not cut in half
		{"a\u20acbcd", 5, "a..."},    // € is three bytes
		{"a\ufffdbcd", 5, "a..."},    // and so is a genuine U+FFFD
		{"ab\xe9\xe9cd", 5, "ab..."}, // not UTF-8: cut where the count says
		{"ab\x80\x80\x80\x80\x80cdef", 6, "ab\x80..."},
	} {
		got := Truncate(tc.in, tc.n)
		if got != tc.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
		if len(got) > max(tc.n, len(Truncated)) {
			t.Errorf("Truncate(%q, %d) = %q is longer than %d", tc.in, tc.n, got, tc.n)
		}
		if utf8.ValidString(tc.in) && !utf8.ValidString(got) {
			t.Errorf("Truncate(%q, %d) = %q is not UTF-8", tc.in, tc.n, got)
		}
	}
}

// hugeReply answers a request with a result per recipient whose text
// is the same text repeated: '<' is six bytes in JSON.
func hugeReply(text string) Handler {
	return func(ctx context.Context, req *Request) *Reply {
		rep := &Reply{Type: ReplyType, Seq: req.Seq}
		for _, i := range req.Rcpts {
			rep.Results = append(rep.Results, Result{Rcpt: i, Status: string(queue.Deferred), DSN: "4.7.1",
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
		{"a thousand recipients, bounded texts", 1000, huge[:MaxReplyText], true},
		{"too many recipients for a frame", 30000, "x", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logBuf bytes.Buffer
			var mu sync.Mutex
			log := maillog.ForWriter(lockedWriter{&mu, &logBuf}, "test", "host", time.Now)
			c, _ := serveHandler(t, hugeReply(tc.text), log)
			rcpts := make([]int, tc.rcpts)
			for i := range rcpts {
				rcpts[i] = i
			}
			id := "1J206RINHTF60UBI"
			for seq := uint64(1); seq <= 2; seq++ {
				if err := c.SendFlush(Request{Type: RequestType, Seq: seq, ID: id, Queue: queue.Active, Rcpts: rcpts}); err != nil {
					t.Fatal(err)
				}
				c.SetReadDeadline(time.Now().Add(20 * time.Second))
				var rep Reply
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
					if tc.intact && (r.Reply == "" || !strings.HasPrefix(tc.text, strings.TrimSuffix(r.Reply, Truncated))) {
						t.Fatalf("result text %.100q is not a prefix of the text", r.Reply)
					}
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if bytes.Contains(logBuf.Bytes(), []byte("too large")) {
				t.Errorf("log:\n%s", logBuf.String())
			}
		})
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestRecordBoundsReply: whatever reply text an agent hands over, the
// entry and qmgr get at most MaxReplyText bytes of it.
func TestRecordBoundsReply(t *testing.T) {
	spool, id := activeEntry(t)
	f, _ := spool.OpenEntry(queue.Active, id, true)
	defer f.Close()
	st, _ := f.Stat()
	before := st.Size()
	req := &Request{Type: RequestType, ID: string(id), Queue: queue.Active, Rcpts: []int{0, 1}}
	text := "command output: " + strings.Repeat("0123456789", 100000)
	rep := &Reply{Type: ReplyType}
	var recs []queue.Record
	for _, i := range req.Rcpts {
		r := queue.Result{Rcpt: i, Status: queue.Deferred, DSN: "4.3.0", Relay: "local", Reply: text}
		rep.Results = append(rep.Results, FromQueue(r))
		recs = append(recs, queue.ResultRecord{Result: r})
	}
	got := Record(spool, f, req, rep, recs, maillog.Discard(), "local")
	for _, r := range got.Results {
		if len(r.Reply) > MaxReplyText || !strings.HasSuffix(r.Reply, Truncated) {
			t.Errorf("result text of %d bytes: %.60q", len(r.Reply), r.Reply)
		}
	}
	e, err := queue.Read(f, id)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range e.State {
		if len(s.Reply) > MaxReplyText || !strings.HasPrefix(text, strings.TrimSuffix(s.Reply, Truncated)) {
			t.Errorf("recipient %d: recorded text of %d bytes", i, len(s.Reply))
		}
	}
	st, _ = os.Stat(f.Name())
	if grown := st.Size() - before; grown > 2*(MaxReplyText+100) {
		t.Errorf("entry grew by %d bytes", grown)
	}
}
