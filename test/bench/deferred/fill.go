package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"postern.dev/postern/libmail/commit"
	"postern.dev/postern/libmail/queue"
)

// fillSpec says what fill writes.
type fillSpec struct {
	spool   string
	n, size int
	relay   string    // the deferring relayhost, as the results name it
	now     time.Time // the restart that follows: next attempts lie after it
	window  time.Duration
	owner   *[2]int // uid and gid to give the files, or nil to leave them
}

// fill writes spec.n deferred entries into deferred/ while no qmgr runs
// (see the comment at the top of main.go), with the queue package's own
// writer, so the format is the one postern writes. Nothing is fsynced
// entry by entry (commit.None): the whole spool is synced once at the
// end, so that the measurement after it does not pay for the writeback.
func fill(spec fillSpec) error {
	body := makeBody(spec.size)
	const workers = 4
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 15))
			var clock time.Time
			sp := queue.Open(spec.spool, func() time.Time { return clock })
			sp.SetPolicy(commit.None{})
			for {
				i := int(next.Add(1)) - 1
				if i >= spec.n {
					return
				}
				clock = spec.now.Add(-time.Hour - time.Duration(rng.Int64N(int64(47*time.Hour))))
				if err := writeDeferred(sp, spec, i, clock, rng, body); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	d, err := os.Open(spec.spool)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Syncfs(int(d.Fd()))
}

// writeDeferred writes entry i as qmgr leaves a message after a failed
// attempt: a deferred result, an attempt record with the next attempt,
// the next attempt as the file's mtime, in deferred/.
func writeDeferred(sp *queue.Spool, spec fillSpec, i int, arrival time.Time, rng *rand.Rand, body []byte) error {
	id := sp.NewID()
	rcpt := fmt.Sprintf("user%d@slow.example.org", i)
	env := &queue.Envelope{Arrival: arrival, Sender: "bench@example.com", Recipients: []queue.Recipient{{Addr: rcpt}},
		ClientName: "localhost", ClientAddr: "127.0.0.1", Helo: "bench.example.com", Proto: "ESMTP"}
	w, err := sp.Create(id, env)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Received: from bench.example.com (localhost [127.0.0.1])\r\n\tby mail.example.test (postern) with ESMTP id %s\r\n\tfor <%s>; %s\r\n"+
		"From: <bench@example.com>\r\nTo: <%s>\r\nSubject: deferred %d\r\nMessage-ID: <%s.deferred@example.com>\r\nDate: %s\r\n\r\n",
		id, rcpt, arrival.Format(time.RFC1123Z), rcpt, i, id, arrival.Format(time.RFC1123Z))
	w.Write(body)
	// Next attempts spread evenly over the window after the restart; the
	// attempt count is the one whose backoff (300 s doubling, at most
	// 4000 s) covers the wait.
	wait := time.Duration(rng.Int64N(int64(spec.window)))
	attempts := 1
	for b := 300 * time.Second; b < wait && b < 4000*time.Second; b *= 2 {
		attempts++
	}
	nextAt := spec.now.Add(wait)
	w.Record(queue.ResultRecord{Result: queue.Result{Rcpt: 0, Status: queue.Deferred, DSN: "4.3.0", Relay: spec.relay,
		Reply: "host " + spec.relay + " said: 451 4.3.0 try later (in reply to RCPT TO command)"}},
		queue.AttemptRecord{Attempts: attempts, Next: nextAt})
	if err := w.Commit(); err != nil {
		return err
	}
	path := sp.Path(queue.Incoming, id)
	if spec.owner != nil {
		if err := os.Chown(path, spec.owner[0], spec.owner[1]); err != nil {
			return err
		}
	}
	if err := os.Chtimes(path, spec.now, nextAt); err != nil {
		return err
	}
	return sp.Move(id, queue.Incoming, queue.DeferredQueue)
}

// makeBody is size bytes of plain 76-character lines with CRLF ends.
func makeBody(size int) []byte {
	line := strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz", 3)[:76] + "\r\n"
	var b strings.Builder
	for b.Len() < size {
		b.WriteString(line)
	}
	return []byte(b.String())
}
