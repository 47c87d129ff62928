package e2e

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// No loss under crashes: while 2000 messages are injected over 10
// connections, smtpd, qmgr and local are killed with SIGKILL at random
// moments, and once the master too (then started again). Every message
// that got a 250 must be delivered afterwards; duplicates are counted and
// reported, never lost messages. It runs once for each durable
// sync_method: per-file fsync and per-batch syncfs.
func TestCrashNoLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	for _, method := range []string{"fsync", "syncfs"} {
		t.Run(method, func(t *testing.T) { crashNoLoss(t, method) })
	}
}

func crashNoLoss(t *testing.T, method string) {
	s := NewSystem(t, Options{Set: []string{
		"sync_method=" + method, "qmgr_scan_interval=1s", "service_throttle_time=1s", "master_stop_timeout=10s",
		"minimal_backoff_time=1s", "maximal_backoff_time=2s", "queue_run_delay=1s",
	}})
	const total, conns = 2000, 10
	var (
		mu       sync.Mutex
		next     int
		stopKill = make(chan struct{})
		kills    = map[string]int{}
		// enough says every daemon was killed often enough to mean
		// something: a fast run keeps sending past total until then
		// (up to three times total).
		enough atomic.Bool
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if next >= 3*total || (next >= total && enough.Load()) {
			return 0, false
		}
		next++
		return next - 1, true
	}
	in := inject(s, conns, func() (string, bool) {
		n, ok := take()
		return fmt.Sprintf("crash-%d", n), ok
	}, func() bool { return false })

	killer := make(chan struct{})
	go func() {
		defer close(killer)
		restartedMaster := false
		// Round robin from a random start: the moments are random, but
		// every daemon is killed about as often, however fast the run.
		turn := rand.IntN(3)
		for {
			select {
			case <-stopKill:
				return
			case <-time.After(time.Duration(20+rand.IntN(120)) * time.Millisecond):
			}
			mu.Lock()
			progress := next
			mu.Unlock()
			if !restartedMaster && progress > total/2 {
				// The master dies too: its daemons notice, finish and exit,
				// and a new master takes over the spool once they are gone.
				restartedMaster = true
				s.master.Process.Signal(syscall.SIGKILL)
				<-s.done
				kills["master"]++
				s.Start()
				continue
			}
			if progress == 0 {
				continue
			}
			svc := []string{"smtp", "qmgr", "local"}[turn%3]
			turn++
			for _, pid := range s.PIDs(svc) {
				if syscall.Kill(pid, syscall.SIGKILL) == nil {
					kills[svc]++
				}
			}
			enough.Store(kills["smtp"] >= 2 && kills["qmgr"] >= 2 && kills["local"] >= 2 && kills["master"] == 1)
		}
	}()
	in.wait()
	close(stopKill)
	acked, refused := in.acked, in.refused
	<-killer

	// Everything acknowledged must arrive; give the retries time.
	deadline := time.Now().Add(120 * time.Second)
	var got map[string]int
	for {
		got = deliveredIDs(t, s.Maildir("demo@example.test"))
		missing := 0
		for id := range acked {
			if got[id] == 0 {
				missing++
			}
		}
		if missing == 0 && s.QueueEmpty() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged messages lost (queue empty: %v)\n%s\n%s", missing, len(acked), s.QueueEmpty(), s.QueueReport(), tail(s.Log(), 30))
		}
		time.Sleep(200 * time.Millisecond)
	}
	dups, unacked := 0, 0
	for id, n := range got {
		if n > 1 {
			dups += n - 1
		}
		if !acked[id] {
			unacked++
		}
	}
	t.Logf("acknowledged %d of %d (%d refused or cut off), delivered %d distinct, %d duplicates, %d delivered without a 250; kills %v",
		len(acked), next, refused, len(got), dups, unacked, kills)
	if dups > 0 {
		t.Errorf("%d messages delivered twice", dups)
	}
	if bad := brokenFiles(t, s.Maildir("demo@example.test")); len(bad) > 0 {
		t.Errorf("%d files in the Maildir are not whole messages: %v", len(bad), bad[:min(len(bad), 5)])
	}
	if len(acked) < next/2 {
		t.Errorf("only %d of %d messages were accepted: the system spent too long down", len(acked), next)
	}
	if kills["smtp"] < 2 || kills["qmgr"] < 2 || kills["local"] < 2 || kills["master"] != 1 {
		t.Errorf("too few kills to mean anything: %v", kills)
	}
}

// sendOne sends one message whose Message-ID names it.
func sendOne(c *gosmtp.Client, id string) error {
	if err := c.Mail("crash@example.org", nil); err != nil {
		return err
	}
	if err := c.Rcpt("demo@example.test", nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "From: crash@example.org\r\nTo: demo@example.test\r\nSubject: %s\r\nMessage-ID: <%s@client.example>\r\n\r\n%s\r\n",
		id, id, bytes.Repeat([]byte("crash test body line\r\n"), 40))
	return w.Close()
}

var messageIDRE = regexp.MustCompile(`(?m)^Message-ID: <([^@>]+)@client\.example>`)

// deliveredIDs counts the Message-IDs in a Maildir's new/ directory.
func deliveredIDs(t *testing.T, maildir string) map[string]int {
	got := map[string]int{}
	names, _ := filepath.Glob(filepath.Join(maildir, "new", "*"))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			continue
		}
		if m := messageIDRE.FindSubmatch(b); m != nil {
			got[string(m[1])]++
		}
	}
	return got
}

// brokenFiles lists the files in the Maildir's new/ that are not whole
// messages: shorter or longer than the S= of their name, or without the
// Message-ID every test message has. A power cut can leave such a file
// from a delivery that was not yet flushed; the next attempt must replace
// it, not count it as delivered, and not leave it beside its redelivery.
func brokenFiles(t *testing.T, maildir string) []string {
	var bad []string
	names, _ := filepath.Glob(filepath.Join(maildir, "new", "*"))
	for _, path := range names {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		name := filepath.Base(path)
		if m := sizeFieldRE.FindStringSubmatch(name); m != nil && m[1] != strconv.Itoa(len(b)) {
			bad = append(bad, fmt.Sprintf("%s: %d bytes", name, len(b)))
		} else if !messageIDRE.Match(b) {
			bad = append(bad, name+": no Message-ID")
		}
	}
	return bad
}

var sizeFieldRE = regexp.MustCompile(`,S=([0-9]+)`)

// injector sends messages over several connections, noting which got
// a 250.
type injector struct {
	mu      sync.Mutex
	acked   map[string]bool
	refused int // refused or cut off
	wg      sync.WaitGroup
}

// inject starts conns senders. Each takes the next message ID from next
// until it says no; a sender whose connection fails dials again (every
// 20 ms, keeping its message) until it succeeds or stopped says so.
func inject(s *System, conns int, next func() (string, bool), stopped func() bool) *injector {
	in := &injector{acked: map[string]bool{}}
	for range conns {
		in.wg.Add(1)
		go func() {
			defer in.wg.Done()
			var c *gosmtp.Client
			defer func() {
				if c != nil {
					c.Quit()
				}
			}()
			for {
				id, ok := next()
				if !ok {
					return
				}
				for c == nil {
					if stopped() {
						return
					}
					var err error
					if c, err = dial(s.Addr(25)); err != nil {
						c = nil
						time.Sleep(20 * time.Millisecond)
					}
				}
				if err := sendOne(c, id); err != nil {
					in.mu.Lock()
					in.refused++
					in.mu.Unlock()
					c.Close()
					c = nil
					continue
				}
				in.mu.Lock()
				in.acked[id] = true
				in.mu.Unlock()
			}
		}()
	}
	return in
}

// wait waits for every sender to end.
func (in *injector) wait() { in.wg.Wait() }

// snapshot returns the IDs acknowledged so far.
func (in *injector) snapshot() map[string]bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return maps.Clone(in.acked)
}
