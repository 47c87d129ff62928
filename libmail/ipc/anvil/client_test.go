package anvil

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/testkit"
)

// fakeAnvil accepts the channel on a Unix socket and records what each
// connection sends; it answers every event with its sequence number and
// a count of 1, unless mute.
type fakeAnvil struct {
	mu     sync.Mutex
	mute   bool
	conns  []*ipc.Conn
	events []string // "N EVENT CLIENT": N numbers the connection from 1
}

func startFake(t *testing.T) (string, *fakeAnvil) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "anvil")
	return path, startFakeAt(t, path)
}

func startFakeAt(t *testing.T, path string) *fakeAnvil {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAnvil{}
	t.Cleanup(func() {
		l.Close()
		f.mu.Lock()
		for _, c := range f.conns {
			c.Close()
		}
		f.mu.Unlock()
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conn, err := ipc.Accept(c, Channel, Version)
			if err != nil {
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, conn)
			n := len(f.conns)
			f.mu.Unlock()
			go f.serve(conn, n)
		}
	}()
	return f
}

func (f *fakeAnvil) serve(c *ipc.Conn, n int) {
	for {
		var r Request
		if err := c.Recv(&r); err != nil {
			return
		}
		f.mu.Lock()
		f.events = append(f.events, strings.Join([]string{string(rune('0' + n)), r.Event, r.Client}, " "))
		mute := f.mute
		f.mu.Unlock()
		if r.Seq != 0 && !mute {
			c.SendFlush(Reply{Type: ReplyType, Seq: r.Seq, Client: Counts{Connections: 1}})
		}
	}
}

func (f *fakeAnvil) log() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.events, "\n")
}

// dropAll closes every connection, as an anvil that restarts.
func (f *fakeAnvil) dropAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
}

func waitAnswer(t *testing.T, c *Client, client string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, ok := c.Count(context.Background(), Auth, client, ""); ok {
			return
		}
	}
	t.Fatal("no answer from anvil within 5 s")
}

// TestClientFailsOpen: with nothing listening, every question is
// answered at once with "unknown", and the outage is logged once however
// many sessions ask; so is its end, when anvil listens.
func TestClientFailsOpen(t *testing.T) {
	logs := &testkit.LogBuffer{}
	path := filepath.Join(t.TempDir(), "anvil")
	c := NewClient(path, maillog.ForWriter(logs, "smtpd", "mail.example.test", nil), time.Second)
	defer c.Start()()
	start := time.Now()
	for range 100 {
		if _, ok := c.Count(context.Background(), Message, "192.0.2.1", ""); ok {
			t.Fatal("answered without anvil")
		}
		if _, release, ok := c.Connect(context.Background(), "192.0.2.1"); ok {
			t.Fatal("connect answered without anvil")
		} else {
			release()
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("200 questions without anvil took %s", d)
	}
	time.Sleep(500 * time.Millisecond) // a few redials
	if n := strings.Count(logs.String(), "anvil is not reachable"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, logs)
	}
	startFakeAt(t, path)
	waitAnswer(t, c, "192.0.2.1")
	if !strings.Contains(logs.String(), "anvil is reachable again") {
		t.Errorf("log lacks the end of the outage:\n%s", logs)
	}
}

// TestClientTimeout: an anvil that takes the events but does not answer
// costs a session at most the timeout; the client then drops the
// connection (one warning) and makes a new one.
func TestClientTimeout(t *testing.T) {
	path, f := startFake(t)
	logs := &testkit.LogBuffer{}
	c := NewClient(path, maillog.ForWriter(logs, "smtpd", "mail.example.test", nil), 200*time.Millisecond)
	defer c.Start()()
	waitAnswer(t, c, "192.0.2.1")
	f.mu.Lock()
	f.mute = true
	f.mu.Unlock()
	var wg sync.WaitGroup
	start := time.Now()
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, ok := c.Count(context.Background(), Recipient, "192.0.2.1", ""); ok {
				t.Error("answered by a mute anvil")
			}
		}()
	}
	wg.Wait()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("waited %s for a mute anvil, timeout 200ms", d)
	}
	if n := strings.Count(logs.String(), "anvil did not answer within 200ms"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, logs)
	}
	f.mu.Lock()
	f.mute = false
	f.mu.Unlock()
	waitAnswer(t, c, "192.0.2.2")
	f.mu.Lock()
	n := len(f.conns)
	f.mu.Unlock()
	if n < 2 {
		t.Errorf("%d connections, want a new one after the timeout", n)
	}
}

// TestClientReleaseAfterReconnect: a connection reported on a connection
// to anvil that broke since is not ended on the new one (anvil gave it
// back when the old one closed; ending it again would take another
// client's place), while one reported on the new connection is. The
// break, made good at once as when anvil restarts, logs no warning.
func TestClientReleaseAfterReconnect(t *testing.T) {
	path, f := startFake(t)
	logs := &testkit.LogBuffer{}
	c := NewClient(path, maillog.ForWriter(logs, "smtpd", "mail.example.test", nil), time.Second)
	defer c.Start()()
	waitAnswer(t, c, "192.0.2.1")
	_, old, ok := c.Connect(context.Background(), "192.0.2.10")
	if !ok {
		t.Fatal("connect not answered")
	}
	f.dropAll()
	waitAnswer(t, c, "192.0.2.1")
	_, cur, ok := c.Connect(context.Background(), "192.0.2.11")
	if !ok {
		t.Fatal("connect not answered after reconnecting")
	}
	old()
	cur()
	waitAnswer(t, c, "192.0.2.1") // after the disconnects, on the same connection
	got := f.log()
	if !strings.Contains(got, "2 disconnect 192.0.2.11") || strings.Contains(got, "disconnect 192.0.2.10") {
		t.Errorf("events:\n%s", got)
	}
	// A restart that a new connection bridges at once is no outage.
	if strings.Contains(logs.String(), "warning") {
		t.Errorf("log warns of a restart:\n%s", logs)
	}
}
