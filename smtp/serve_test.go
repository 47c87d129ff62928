package smtp

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"postern.dev/postern/libmail/testkit"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/dns"
	"postern.dev/postern/libmail/dns/dnstest"
	"postern.dev/postern/libmail/esmtp"
	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/delivery"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
)

// serveAgent runs the agent on a Unix socket and connects to it as qmgr.
func serveAgent(t *testing.T, e *testEnv) (*ipc.Conn, func()) {
	t.Helper()
	sock := filepath.Join(e.dir, "smtp.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		e.agent.Serve(ctx, l)
		close(served)
	}()
	c, err := ipc.Dial(ctx, sock, ipc.Hello{Channel: delivery.Channel, Version: delivery.Version})
	if err != nil {
		t.Fatal(err)
	}
	stop := func() {
		c.Close()
		cancel()
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			t.Fatal("Serve did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return c, stop
}

// TestServe: requests on one qmgr connection are worked on concurrently
// and answered as they finish.
func TestServe(t *testing.T) {
	slow := newFakeServer(t, "PIPELINING")
	slow.delay = 150 * time.Millisecond
	fast := newFakeServer(t, "PIPELINING")
	e := newTestEnv(t, envOptions{})
	c, _ := serveAgent(t, e)
	ids := map[uint64]queue.ID{}
	for seq, s := range map[uint64]*fakeServer{1: slow, 2: fast} {
		id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
		ids[seq] = id
		if err := c.Send(delivery.Request{Type: delivery.RequestType, Seq: seq, ID: string(id), Queue: queue.Active,
			Rcpts: []int{0}, Last: true, Nexthop: nexthopOf(s)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	var order []uint64
	for range 2 {
		var rep delivery.Reply
		if err := c.Recv(&rep); err != nil {
			t.Fatal(err)
		}
		if _, ok := ids[rep.Seq]; !ok || !rep.Removed || len(rep.Results) != 1 || rep.Results[0].Status != "sent" {
			t.Errorf("reply %+v", rep)
		}
		order = append(order, rep.Seq)
	}
	if order[0] != 2 {
		t.Errorf("replies in order %v: the fast one should not wait for the slow one", order)
	}
	// A request without a valid queue is refused by closing the connection.
	c.SendFlush(delivery.Request{Type: delivery.RequestType, Seq: 9, ID: string(e.spool.NewID()), Queue: queue.Incoming, Rcpts: []int{0}})
	var rep delivery.Reply
	if err := c.Recv(&rep); err == nil {
		t.Errorf("reply %+v to a request for incoming/", rep)
	}
}

// TestServeInterrupted: when the agent stops mid-delivery, it answers
// nothing and records nothing it did not finish.
func TestServeInterrupted(t *testing.T) {
	s := newFakeServer(t, "PIPELINING")
	s.delay = 1500 * time.Millisecond
	e := newTestEnv(t, envOptions{})
	c, stop := serveAgent(t, e)
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	c.SendFlush(delivery.Request{Type: delivery.RequestType, Seq: 1, ID: string(id), Queue: queue.Active,
		Rcpts: []int{0}, Last: true, Nexthop: nexthopOf(s)})
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	stop()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("stopping took %v", d)
	}
	if ent := e.read(queue.Active, id); ent.State[0].Status != queue.Pending {
		t.Errorf("recorded %+v", ent.State[0])
	}
}

// TestConcurrencyLimit: at most smtp_delivery_concurrency requests are
// in progress at once.
func TestConcurrencyLimit(t *testing.T) {
	s := newFakeServer(t, "PIPELINING")
	var mu sync.Mutex
	cur, peak := 0, 0
	s.reply = func(verb, arg string) string {
		if verb == "MAIL" {
			mu.Lock()
			cur++
			peak = max(peak, cur)
			mu.Unlock()
			time.Sleep(50 * time.Millisecond)
		}
		if verb == "END" {
			mu.Lock()
			cur--
			mu.Unlock()
		}
		return ""
	}
	e := newTestEnv(t, envOptions{params: func(p *config.Params) { p.SMTPDeliveryConcurrency = 2 }})
	c, _ := serveAgent(t, e)
	for seq := range uint64(6) {
		id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
		c.Send(delivery.Request{Type: delivery.RequestType, Seq: seq, ID: string(id), Queue: queue.Active,
			Rcpts: []int{0}, Last: true, Nexthop: nexthopOf(s)})
	}
	c.Flush()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	for range 6 {
		var rep delivery.Reply
		if err := c.Recv(&rep); err != nil {
			t.Fatal(err)
		}
		if rep.Results[0].Status != "sent" {
			t.Errorf("reply %+v", rep)
		}
	}
	if peak > 2 {
		t.Errorf("%d deliveries at once", peak)
	}
}

// TestWithDNSServer: the agent against the real resolver client and a
// DNS server on loopback (package dnstest).
func TestWithDNSServer(t *testing.T) {
	s := newFakeServer(t, "PIPELINING")
	srv := dnstest.New(t, `
example.net.       MX 10 mx1.example.net.
example.net.       MX 20 mx2.example.net.
mx1.example.net.   A  192.0.2.1
mx2.example.net.   A  127.0.0.1
nullmx.example.    MX 0 .
`)
	res, err := dns.New([]string{srv.Addr()}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t, envOptions{params: func(p *config.Params) { p.SMTPTCPPort = s.port }})
	e.agent.res = res
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep := e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"sent", "2.0.0", "250"})
	if got := rep.Results[0].Relay; got != "mx2.example.net[127.0.0.1]:"+strconv.Itoa(s.port) {
		t.Errorf("relay %q", got)
	}
	id = e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@nullmx.example")
	checkResults(t, e.handle(id, "nullmx.example", true, 0), want{"failed", "5.1.10", "null MX"})
	id = e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@nxdomain.example")
	checkResults(t, e.handle(id, "nxdomain.example", true, 0), want{"failed", "5.4.4", "Host not found"})
}

// TestSmtpSink delivers 100 messages to Postfix's smtp-sink, a real
// pipelining server, and counts what it got.
func TestSmtpSink(t *testing.T) {
	sink, err := exec.LookPath("smtp-sink")
	if err != nil {
		for _, p := range []string{"/usr/sbin/smtp-sink", "/usr/lib/postfix/sbin/smtp-sink"} {
			if _, err2 := exec.LookPath(p); err2 == nil {
				sink, err = p, nil
				break
			}
		}
	}
	if err != nil {
		t.Skip("smtp-sink not installed")
	}
	addr := closedPort(t)
	// -c: print a running count of messages; -u: the user to run as,
	// which smtp-sink insists on when started as root.
	args := []string{"-c", addr, "100"}
	if os.Geteuid() == 0 {
		args = append([]string{"-u", "nobody"}, args...)
	}
	cmd := exec.Command(sink, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Skipf("smtp-sink: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if i == 100 {
			t.Fatalf("smtp-sink does not listen: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, port, _ := net.SplitHostPort(addr)
	var log testkit.LogBuffer
	e := newTestEnv(t, envOptions{params: cacheParams(10*time.Second, time.Minute)})
	e.agent.log = maillog.ForWriter(&log, "smtp", "mail.example.test", time.Now)
	nexthop := "[127.0.0.1]:" + port
	var wg sync.WaitGroup
	sem := make(chan struct{}, 10)
	var mu sync.Mutex
	sent := 0
	for i := range 100 {
		id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage+strings.Repeat("body line\r\n", i), "a@example.net", "b@example.net")
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rep := e.agent.handle(context.Background(), &delivery.Request{Type: delivery.RequestType, Seq: uint64(i), ID: string(id),
				Queue: queue.Active, Rcpts: []int{0, 1}, Last: true, Nexthop: nexthop})
			mu.Lock()
			defer mu.Unlock()
			for _, r := range rep.Results {
				if r.Status == "sent" {
					sent++
				} else {
					t.Errorf("result %+v", r)
				}
			}
		}()
	}
	wg.Wait()
	if sent != 200 {
		t.Errorf("%d recipients sent, want 200", sent)
	}
	if n := strings.Count(log.String(), ", status=sent (250 "); n != 200 {
		t.Errorf("%d sent lines:\n%s", n, log.String())
	}
	e.agent.Close()
	// The counter smtp-sink printed last ("sess=5 quit=5 mesg=100") has
	// the number of messages.
	time.Sleep(100 * time.Millisecond)
	cmd.Process.Kill()
	cmd.Wait()
	counts := strings.Fields(strings.ReplaceAll(out.String(), "\r", " "))
	if len(counts) == 0 || counts[len(counts)-1] != "mesg=100" {
		t.Errorf("smtp-sink counted %q, want mesg=100 at the end", out.String())
	}
}

// TestServeHugeReplies: a server that answers RCPT with 60 lines of
// 4,000 bytes. The agent used to keep all of it, log it, record it in
// the entry and put it in its result, which then did not fit an IPC
// frame: the connection to qmgr dropped, and every attempt did it all
// again. Now each result carries at most esmtp.MaxReplyText bytes of the reply,
// the entry and the log grow by about that much per recipient, and the
// answer reaches qmgr on a connection that stays up.
func TestServeHugeReplies(t *testing.T) {
	s := newFakeServer(t, "PIPELINING")
	var lines []string
	for i := 0; i < 60; i++ {
		l := "451-4.7.1 " + strings.Repeat("<spam&eggs> ", 400)
		lines = append(lines, l[:4000])
	}
	lines[59] = "451 4.7.1 try again later"
	huge := strings.Join(lines, "\r\n")
	s.reply = func(verb, arg string) string {
		if verb == "RCPT" {
			return huge
		}
		return ""
	}
	e := newTestEnv(t, envOptions{})
	c, _ := serveAgent(t, e)
	const nrcpt = 5
	for n := uint64(1); n <= 2; n++ {
		id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, rcptList(nrcpt, "example.net")...)
		size := func() int64 {
			st, err := os.Stat(e.spool.Path(queue.Active, id))
			if err != nil {
				t.Fatal(err)
			}
			return st.Size()
		}
		before, logBefore := size(), len(e.log.String())
		if err := c.SendFlush(delivery.Request{Type: delivery.RequestType, Seq: n, ID: string(id), Queue: queue.Active,
			Rcpts: seq(nrcpt), Last: true, Nexthop: nexthopOf(s)}); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		var rep delivery.Reply
		if err := c.Recv(&rep); err != nil {
			t.Fatalf("request %d: no answer: %v", n, err)
		}
		if rep.Seq != n || len(rep.Results) != nrcpt {
			t.Fatalf("reply %d with %d results", rep.Seq, len(rep.Results))
		}
		for _, r := range rep.Results {
			if r.Status != "deferred" || r.DSN != "4.7.1" || len(r.Reply) > esmtp.MaxReplyText ||
				!strings.HasPrefix(r.Reply, "451-4.7.1 <spam&eggs>") || !strings.HasSuffix(r.Reply, "...") {
				t.Errorf("result %s %s, text of %d bytes: %.60q", r.Status, r.DSN, len(r.Reply), r.Reply)
			}
		}
		if grown := size() - before; grown > nrcpt*(esmtp.MaxReplyText+100) {
			t.Errorf("entry grew by %d bytes", grown)
		}
		if grown := len(e.log.String()) - logBefore; grown > nrcpt*(esmtp.MaxReplyText+400) {
			t.Errorf("log grew by %d bytes", grown)
		}
	}
}
