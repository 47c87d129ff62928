package anvil

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/ipc"
	proto "postern.dev/postern/libmail/ipc/anvil"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/testkit"
)

// startServer serves a table on a Unix socket in a temporary directory
// and returns the socket's path.
func startServer(t *testing.T) (string, *Table, *testkit.LogBuffer) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "anvil")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	tb, _ := newTestTable()
	logs := &testkit.LogBuffer{}
	srv := NewServer(tb, maillog.ForWriter(logs, "anvil", "mail.example.test", nil))
	done := make(chan struct{})
	go func() { srv.Serve(l); close(done) }()
	t.Cleanup(func() {
		l.Close()
		srv.Close()
		<-done
	})
	return path, tb, logs
}

// dialRaw speaks the channel by hand, as an smtpd would.
func dialRaw(t *testing.T, path string) *ipc.Conn {
	t.Helper()
	c, err := ipc.Dial(context.Background(), path, ipc.Hello{Channel: proto.Channel, Version: proto.Version})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// connections asks, on a fresh connection, how many connections of
// client are open (a Connect, whose own is then ended).
func connections(t *testing.T, path, client string) int {
	t.Helper()
	c := dialRaw(t, path)
	defer c.Close()
	c.Send(proto.Request{Type: proto.RequestType, Seq: 1, Event: proto.Connect, Client: client})
	c.Send(proto.Request{Type: proto.RequestType, Event: proto.Disconnect, Client: client})
	c.Flush()
	var r proto.Reply
	if err := c.Recv(&r); err != nil {
		t.Fatal(err)
	}
	return r.Client.Connections - 1
}

func waitConnections(t *testing.T, path, client string, want int) {
	t.Helper()
	var n int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if n = connections(t, path, client); n == want {
			return
		}
	}
	t.Fatalf("%s has %d connections open, want %d", client, n, want)
}

// TestServerPipelined: a batch of events written at once is answered
// event by event, in order, each with its sequence number, and a
// Disconnect in the batch gets no answer.
func TestServerPipelined(t *testing.T) {
	path, _, _ := startServer(t)
	c := dialRaw(t, path)
	for i := 1; i <= 100; i++ {
		c.Send(proto.Request{Type: proto.RequestType, Seq: uint64(i), Event: proto.Connect, Client: "192.0.2.7"})
		c.Send(proto.Request{Type: proto.RequestType, Event: proto.Disconnect, Client: "192.0.2.7"})
	}
	c.Flush()
	for i := 1; i <= 100; i++ {
		var r proto.Reply
		if err := c.Recv(&r); err != nil {
			t.Fatal(err)
		}
		if r.Seq != uint64(i) || r.Client.ConnectRate != i || r.Client.Connections != 1 {
			t.Fatalf("answer %d: %+v", i, r)
		}
	}
}

// TestServerReleasesCrashed: the connections an smtpd reported are given
// back when its connection to anvil closes without their ends (smtpd
// was killed), and when it sends something anvil cannot read (dropped,
// with a warning); those of another smtpd stay counted.
func TestServerReleasesCrashed(t *testing.T) {
	path, _, logs := startServer(t)
	killed, live, confused := dialRaw(t, path), dialRaw(t, path), dialRaw(t, path)
	for i := 1; i <= 3; i++ {
		for _, c := range []*ipc.Conn{killed, live, confused} {
			c.SendFlush(proto.Request{Type: proto.RequestType, Seq: uint64(i), Event: proto.Connect, Client: "2001:db8::1"})
			var r proto.Reply
			if err := c.Recv(&r); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitConnections(t, path, "2001:db8::2", 9)
	killed.Close()
	waitConnections(t, path, "2001:db8::2", 6)
	confused.SendFlush(proto.Request{Type: proto.RequestType, Seq: 9, Event: "connect", Client: "not an address"})
	waitConnections(t, path, "2001:db8::2", 3)
	if !strings.Contains(logs.String(), `warning: connection from smtpd: anvil request for client "not an address"`) {
		t.Errorf("log lacks the warning:\n%s", logs)
	}
	var r proto.Reply
	if err := live.SendFlush(proto.Request{Type: proto.RequestType, Seq: 4, Event: proto.Auth, Client: "2001:db8::3"}); err != nil {
		t.Fatal(err)
	}
	if err := live.Recv(&r); err != nil || r.Client.Connections != 3 || r.Client.Auths != 1 {
		t.Errorf("the live smtpd's answer: %+v, %v", r, err)
	}
}

// TestClientAgainstServer: the client smtpd uses, against the real
// server: counts come back, Connect's release ends the connection, and
// a client that stops gives back what it still had open.
func TestClientAgainstServer(t *testing.T) {
	path, _, _ := startServer(t)
	cl := proto.NewClient(path, maillog.Discard(), time.Second)
	stop := cl.Start()
	ctx := context.Background()
	var r proto.Reply
	var ok bool
	for deadline := time.Now().Add(5 * time.Second); !ok && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		r, ok = cl.Count(ctx, proto.Message, "192.0.2.1", "demo@example.test")
	}
	if !ok || r.Client.Messages != 1 || r.User.Messages != 1 {
		t.Fatalf("first message: %+v, %v", r, ok)
	}
	r, release, ok := cl.Connect(ctx, "192.0.2.1")
	if !ok || r.Client.Connections != 1 {
		t.Fatalf("connect: %+v, %v", r, ok)
	}
	_, _, ok = cl.Connect(ctx, "192.0.2.1")
	if !ok {
		t.Fatal("second connect not answered")
	}
	release()
	release() // once only
	waitConnections(t, path, "192.0.2.1", 1)
	stop()
	waitConnections(t, path, "192.0.2.1", 0)
	if _, ok := cl.Count(ctx, proto.Auth, "192.0.2.1", ""); ok {
		t.Error("a stopped client answered")
	}
}
