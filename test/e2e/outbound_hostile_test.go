package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// hostileServer is an SMTP server that answers every RCPT with a huge
// multi-line 4xx reply, dribbled out line by line: what a broken or
// malicious remote MTA can do to a client. go-smtp cannot send such
// replies, so it is made by hand.
type hostileServer struct {
	t     *testing.T
	l     net.Listener
	Port  int
	Lines int // lines per RCPT reply
	Width int // bytes per line, code included
	Pause time.Duration

	mu    sync.Mutex
	rcpts int // RCPT commands answered
}

func newHostileServer(t *testing.T) *hostileServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hostileServer{t: t, l: l, Port: l.Addr().(*net.TCPAddr).Port, Lines: 60, Width: 4000, Pause: 5 * time.Millisecond}
	go h.serve()
	t.Cleanup(func() { l.Close() })
	return h
}

// answered returns how many RCPT commands the server answered.
func (h *hostileServer) answered() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rcpts
}

func (h *hostileServer) serve() {
	for {
		c, err := h.l.Accept()
		if err != nil {
			return
		}
		go h.session(c)
	}
}

// rcptLine is one line of the huge reply: JSON escapes '<', '>' and
// '&' to six bytes each, so the text grows further in a delivery frame.
func (h *hostileServer) rcptLine(last bool) string {
	sep := "-"
	if last {
		sep = " "
	}
	line := "451" + sep + "4.7.1 "
	for len(line) < h.Width {
		line += "<spam&eggs> "
	}
	return line[:h.Width]
}

func (h *hostileServer) session(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	say := func(line string) { w.WriteString(line + "\r\n") }
	say("220 hostile.example ESMTP")
	w.Flush()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb, _, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			say("250-hostile.example")
			say("250-PIPELINING")
			say("250 8BITMIME")
		case "MAIL", "RSET", "NOOP":
			say("250 2.0.0 ok")
		case "RCPT":
			h.mu.Lock()
			h.rcpts++
			h.mu.Unlock()
			for i := 0; i < h.Lines; i++ {
				say(h.rcptLine(i == h.Lines-1))
				if err := w.Flush(); err != nil {
					return
				}
				time.Sleep(h.Pause)
			}
		case "DATA":
			say("554 5.5.1 no valid recipients")
		case "QUIT":
			say("221 2.0.0 bye")
			w.Flush()
			return
		default:
			say("502 5.5.2 unknown command")
		}
		if r.Buffered() == 0 {
			w.Flush()
		}
	}
}

// TestOutboundHostileReplies: a remote server that answers RCPT with 60
// lines of 4,000 bytes used to make the smtp agent's result frame exceed
// the IPC frame limit; the agent connection dropped, qmgr redelivered at
// once, and every attempt appended the whole reply to the entry and the
// log again, without end. Now the agent keeps and logs a bounded part of
// the reply, the result fits its frame, and the entry is deferred on the
// backoff schedule, while mail to another destination flows.
func TestOutboundHostileReplies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for a minute")
	}
	hostile, good := newHostileServer(t), NewSink(t)
	const minBackoff, maxBackoff = 4 * time.Second, 8 * time.Second
	s, _ := outbound(t, "$ORIGIN hostile.test.\n@ MX 10 mx\nmx A 127.0.0.1\n", hostile.Port,
		fmt.Sprintf("minimal_backoff_time=%s", minBackoff), fmt.Sprintf("maximal_backoff_time=%s", maxBackoff),
		"queue_run_delay=1s", fmt.Sprintf(`transport_maps=["good.test smtp:[127.0.0.1]:%d"]`, good.Port))
	logStart := len(s.Log())
	start := time.Now()
	submit(t, s, "alice@example.org", []string{"a@hostile.test", "b@hostile.test"}, "hostile")
	const nrcpt = 2

	// Meanwhile, mail to a well-behaved destination is delivered, every
	// ten seconds for the whole run.
	for n := 1; time.Since(start) < 60*time.Second; n++ {
		sent := time.Now()
		submit(t, s, "alice@example.org", []string{"ok@good.test"}, fmt.Sprintf("good-%d", n))
		good.Wait(n, 10*time.Second)
		time.Sleep(10*time.Second - time.Since(sent))
	}

	log := s.Log()[logStart:]
	var at []time.Time
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "to=<a@hostile.test>") && strings.Contains(line, "status=deferred") {
			ts, err := time.Parse(time.Stamp, line[:len(time.Stamp)])
			if err != nil {
				t.Fatalf("log line without a time stamp: %.200s", line)
			}
			at = append(at, ts)
		}
	}
	attempts := len(at)
	size := hostileEntrySize(t, s)
	t.Logf("%d attempts in %s, %d RCPT replies sent; entry %d bytes; log grew %d bytes", attempts, time.Since(start).Round(time.Second), hostile.answered(), size, len(log))

	// The schedule: at most one attempt per backoff (4 s, then 8 s), so
	// about 8 in a minute; the scan runs every second, hence the slack.
	if attempts < 4 || attempts > 11 {
		t.Errorf("%d delivery attempts in %s, want about 8 on the backoff schedule", attempts, time.Since(start).Round(time.Second))
	}
	for i := 1; i < len(at); i++ {
		want := min(minBackoff<<(i-1), maxBackoff)
		if gap := at[i].Sub(at[i-1]); gap < want-time.Second {
			t.Errorf("attempt %d came %s after attempt %d, want at least the backoff of %s", i+1, gap, i, want)
		}
	}
	// Growth per attempt: a bounded reply (about 1 KB) per recipient in
	// the entry, and about twice that in the log.
	const perRcpt = 1500
	if limit := int64(2048 + attempts*nrcpt*perRcpt); size > limit {
		t.Errorf("entry is %d bytes after %d attempts, want at most %d", size, attempts, limit)
	}
	if limit := 32<<10 + attempts*nrcpt*2*perRcpt; len(log) > limit {
		t.Errorf("log grew %d bytes in %d attempts, want at most %d", len(log), attempts, limit)
	}
	if strings.Contains(log, "lost connection with smtp delivery agent") {
		t.Errorf("the smtp agent's connection was lost:\n%.2000s", log)
	}
	if !strings.Contains(log, "... (in reply to RCPT TO command)") {
		t.Errorf("no reply marked as cut in the log:\n%.2000s", log)
	}
}

// hostileEntrySize returns the size of the one entry left in the queue.
// It may move between queues while it is looked for: then again.
func hostileEntrySize(t *testing.T, s *System) int64 {
	t.Helper()
	var found []string
	for try := 0; try < 50; try++ {
		found = nil
		for _, q := range []string{"incoming", "active", "deferred"} {
			names, _ := filepath.Glob(filepath.Join(s.Dir, "spool", q, "*"))
			found = append(found, names...)
		}
		if len(found) == 1 {
			if st, err := os.Stat(found[0]); err == nil {
				return st.Size()
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("want one entry in the queue, found %v\n%s", found, s.QueueReport())
	return 0
}
