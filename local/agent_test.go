package local

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"postern.dev/postern/libmail/account"
	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/delivery"
	"postern.dev/postern/libmail/queue"
)

// handle runs one delivery request for entry id.
func (e *testEnv) handle(id queue.ID, last bool, rcpts ...int) *delivery.Reply {
	e.t.Helper()
	return e.handleCtx(context.Background(), id, last, rcpts...)
}

func (e *testEnv) handleCtx(ctx context.Context, id queue.ID, last bool, rcpts ...int) *delivery.Reply {
	e.t.Helper()
	now := time.Now().UnixNano()
	req := &delivery.Request{Type: delivery.RequestType, Seq: 7, ID: string(id), Queue: queue.Active,
		Rcpts: rcpts, Last: last, Activated: now, Dispatched: now}
	if err := req.Validate(); err != nil {
		e.t.Fatal(err)
	}
	rep := e.agent.handle(ctx, req)
	if rep != nil {
		if rep.Seq != 7 || rep.Type != delivery.ReplyType {
			e.t.Errorf("reply seq %d type %q", rep.Seq, rep.Type)
		}
		if err := rep.Validate(); err != nil {
			e.t.Errorf("reply does not validate: %v", err)
		}
	}
	return rep
}

type wantResult struct {
	status, dsn, reply string // reply: a part of it
}

func checkResults(t *testing.T, rep *delivery.Reply, want ...wantResult) {
	t.Helper()
	if len(rep.Results) != len(want) {
		t.Fatalf("%d results %+v, want %d", len(rep.Results), rep.Results, len(want))
	}
	for i, w := range want {
		r := rep.Results[i]
		if r.Status != w.status || r.DSN != w.dsn || !strings.Contains(r.Reply, w.reply) || r.Relay != "local" {
			t.Errorf("result %d = %+v, want %s %s (%s) relay=local", i, r, w.status, w.dsn, w.reply)
		}
	}
}

func checkState(t *testing.T, ent *queue.Entry, want ...wantResult) {
	t.Helper()
	for i, w := range want {
		s := ent.State[i]
		if string(s.Status) != w.status || s.DSN != w.dsn || !strings.Contains(s.Reply, w.reply) {
			t.Errorf("recorded state %d = %+v, want %s %s (%s)", i, s.Result, w.status, w.dsn, w.reply)
		}
	}
}

// hashedAccounts returns accounts lines with a real password hash, made
// once per test (argon2 is deliberately slow).
func hashedAccounts(t *testing.T, home string) string {
	t.Helper()
	h, err := account.Hash("secret")
	if err != nil {
		t.Fatal(err)
	}
	return "user@example.test:" + h + "\n" +
		"other@example.test:" + h + "\n" +
		"homed@example.test:" + h + "::::" + home + "\n"
}

func TestHandle(t *testing.T) {
	home := filepath.Join(t.TempDir(), "homed")
	accounts := hashedAccounts(t, home)
	aliases := "fwd: out@remote.example, user\nloop: user\n"

	t.Run("delivered and removed", func(t *testing.T) {
		e := newTestEnv(t, envOptions{aliases: aliases, accounts: accounts})
		id := e.enqueue("sender@example.org", testMessage, "user@example.test")
		rep := e.handle(id, true, 0)
		checkResults(t, rep, wantResult{"sent", "2.0.0", "delivered to maildir"})
		if !rep.Removed {
			t.Errorf("reply not Removed")
		}
		if exists(e.spool.Path(queue.Active, id)) {
			t.Errorf("entry still in active/")
		}
		if !exists(filepath.Join(e.spool.Root(), queue.Spare, string(id))) {
			t.Errorf("entry not recycled into spare/")
		}
		got := maildirFiles(t, filepath.Join(e.vbase, "example.test", "user"))
		want := "Return-Path: <sender@example.org>\nDelivered-To: user@example.test\n" + lf(testMessage)
		if len(got) != 1 || got[0] != want {
			t.Errorf("maildir holds %q, want [%q]", got, want)
		}
		if log := e.log.String(); !strings.Contains(log, string(id)+": to=<user@example.test>, relay=local") ||
			!strings.Contains(log, "status=sent (delivered to maildir)") || !strings.Contains(log, string(id)+": removed") {
			t.Errorf("log:\n%s", log)
		}
	})

	t.Run("account with home", func(t *testing.T) {
		e := newTestEnv(t, envOptions{accounts: accounts})
		id := e.enqueue("sender@example.org", testMessage, "Homed+Box@Example.Test")
		checkResults(t, e.handle(id, true, 0), wantResult{"sent", "2.0.0", "maildir"})
		got := maildirFiles(t, home)
		if len(got) != 1 || !strings.HasPrefix(got[0], "Return-Path: <sender@example.org>\nDelivered-To: Homed+Box@Example.Test\n") {
			t.Errorf("maildir %s holds %q", home, got)
		}
	})

	t.Run("null sender", func(t *testing.T) {
		e := newTestEnv(t, envOptions{accounts: accounts})
		id := e.enqueue("", testMessage, "user@example.test")
		checkResults(t, e.handle(id, true, 0), wantResult{"sent", "2.0.0", ""})
		got := maildirFiles(t, filepath.Join(e.vbase, "example.test", "user"))
		if len(got) != 1 || !strings.HasPrefix(got[0], "Return-Path: <>\n") {
			t.Errorf("maildir holds %q", got)
		}
	})

	t.Run("partly delivered: results recorded", func(t *testing.T) {
		e := newTestEnv(t, envOptions{accounts: accounts})
		id := e.enqueue("sender@example.org", testMessage, "user@example.test", "nobody-here@example.test", "other@example.test")
		rep := e.handle(id, true, 0, 1, 2)
		want := []wantResult{{"sent", "2.0.0", ""}, {"failed", "5.1.1", "unknown user"}, {"sent", "2.0.0", ""}}
		checkResults(t, rep, want...)
		if rep.Removed {
			t.Errorf("reply Removed with a failed recipient")
		}
		ent, msg := e.read(queue.Active, id)
		checkState(t, ent, want...)
		if ent.Done() {
			t.Errorf("entry Done before the failure was notified")
		}
		if msg != testMessage {
			t.Errorf("message changed: %q", msg)
		}
	})

	t.Run("all sent but not last: recorded, kept", func(t *testing.T) {
		e := newTestEnv(t, envOptions{accounts: accounts})
		id := e.enqueue("sender@example.org", testMessage, "user@example.test", "other@example.test")
		rep := e.handle(id, false, 1)
		checkResults(t, rep, wantResult{"sent", "2.0.0", ""})
		if rep.Removed {
			t.Errorf("removed although the request was not the last")
		}
		ent, _ := e.read(queue.Active, id)
		if ent.State[0].Status != queue.Pending || ent.State[1].Status != queue.Sent {
			t.Errorf("state %+v", ent.State)
		}
	})

	t.Run("Delivered-To loop", func(t *testing.T) {
		e := newTestEnv(t, envOptions{accounts: accounts})
		looped := "Delivered-To: someone@else.example\r\ndelivered-to:  USER@example.test \r\n" + testMessage
		id := e.enqueue("sender@example.org", looped, "user@example.test", "other@example.test")
		rep := e.handle(id, true, 0, 1)
		want := []wantResult{{"failed", "5.4.6", "mail forwarding loop for user@example.test"}, {"sent", "2.0.0", ""}}
		checkResults(t, rep, want...)
		ent, _ := e.read(queue.Active, id)
		checkState(t, ent, want...)
		if got := maildirFiles(t, filepath.Join(e.vbase, "example.test", "user")); len(got) != 0 {
			t.Errorf("looping message delivered: %q", got)
		}
	})

	t.Run("Delivered-To in the body is no loop", func(t *testing.T) {
		e := newTestEnv(t, envOptions{accounts: accounts})
		id := e.enqueue("sender@example.org", testMessage+"Delivered-To: user@example.test\r\n", "user@example.test")
		checkResults(t, e.handle(id, true, 0), wantResult{"sent", "2.0.0", ""})
	})

	t.Run("forwarded", func(t *testing.T) {
		e := newTestEnv(t, envOptions{aliases: aliases, accounts: accounts})
		id := e.enqueue("sender@example.org", testMessage, "fwd@example.test")
		rep := e.handle(id, true, 0)
		checkResults(t, rep, wantResult{"sent", "2.0.0", "forwarded as "})
		if !rep.Removed {
			t.Errorf("not removed")
		}
		woken := e.waker.IDs()
		if len(woken) != 1 || !strings.HasSuffix(rep.Results[0].Reply, string(woken[0])) {
			t.Fatalf("woke %v; reply %q", woken, rep.Results[0].Reply)
		}
		fwd, msg := e.read(queue.Incoming, woken[0])
		if fwd.Sender != "sender@example.org" || len(fwd.Recipients) != 1 || fwd.Recipients[0].Addr != "out@remote.example" {
			t.Errorf("forwarded envelope %+v", fwd.Envelope)
		}
		if want := "Delivered-To: fwd@example.test\r\n" + testMessage; msg != want {
			t.Errorf("forwarded message %q, want %q", msg, want)
		}
		// The local member got its copy too.
		if got := maildirFiles(t, filepath.Join(e.vbase, "example.test", "user")); len(got) != 1 ||
			!strings.Contains(got[0], "Delivered-To: user@example.test\n") {
			t.Errorf("maildir %q", got)
		}

		// When the copy comes back to the forwarding address, it is a loop.
		if err := e.spool.Move(woken[0], queue.Incoming, queue.Active); err != nil {
			t.Fatal(err)
		}
		back := e.enqueue("sender@example.org", msg, "fwd@example.test")
		checkResults(t, e.handle(back, true, 0), wantResult{"failed", "5.4.6", "loop"})
		if len(e.waker.IDs()) != 1 {
			t.Errorf("the looping copy was forwarded again")
		}
	})

	t.Run("missing entry", func(t *testing.T) {
		e := newTestEnv(t, envOptions{accounts: accounts})
		rep := e.handle(e.spool.NewID(), true, 0, 3)
		checkResults(t, rep, wantResult{"deferred", "4.3.0", "cannot open queue entry"}, wantResult{"deferred", "4.3.0", "cannot open"})
	})

	t.Run("bad recipient index", func(t *testing.T) {
		e := newTestEnv(t, envOptions{accounts: accounts})
		id := e.enqueue("sender@example.org", testMessage, "user@example.test")
		rep := e.handle(id, true, 0, 1)
		checkResults(t, rep, wantResult{"deferred", "4.3.0", "bad recipient index"}, wantResult{"deferred", "4.3.0", "bad recipient index"})
		if !exists(e.spool.Path(queue.Active, id)) {
			t.Errorf("entry gone")
		}
	})

	t.Run("corrupt entry", func(t *testing.T) {
		e := newTestEnv(t, envOptions{accounts: accounts})
		id := e.spool.NewID()
		write(t, e.spool.Path(queue.Active, id), "not an entry\n")
		checkResults(t, e.handle(id, true, 0), wantResult{"deferred", "4.3.0", "cannot read queue entry"})
	})

	t.Run("cancelled before the first recipient", func(t *testing.T) {
		e := newTestEnv(t, envOptions{accounts: accounts})
		id := e.enqueue("sender@example.org", testMessage, "user@example.test")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if rep := e.handleCtx(ctx, id, true, 0); rep != nil {
			t.Errorf("reply %+v after cancel, want none", rep)
		}
		if !exists(e.spool.Path(queue.Active, id)) {
			t.Errorf("entry gone")
		}
	})

	t.Run("mailbox cannot be created", func(t *testing.T) {
		e := newTestEnv(t, envOptions{accounts: accounts})
		// A file where the domain directory should be.
		write(t, filepath.Join(e.vbase, "example.test"), "in the way")
		id := e.enqueue("sender@example.org", testMessage, "user@example.test")
		rep := e.handle(id, true, 0)
		checkResults(t, rep, wantResult{"deferred", "4.2.0", "cannot update mailbox"})
		ent, _ := e.read(queue.Active, id)
		checkState(t, ent, wantResult{"deferred", "4.2.0", "cannot update mailbox"})
	})
}

// TestHandleCancelledKeepsResults: when qmgr goes away in the middle of a
// request, the recipients already delivered must be recorded, or the next
// qmgr sends them the message again (no crash needed for the duplicate).
func TestHandleCancelledKeepsResults(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var box string
	// The agent reads the clock after each delivery (for the log line):
	// cancel as soon as the first recipient's message is in its Maildir.
	now := func() time.Time {
		if box != "" {
			if ents, _ := os.ReadDir(filepath.Join(box, "new")); len(ents) > 0 {
				cancel()
			}
		}
		return time.Now()
	}
	e := newTestEnv(t, envOptions{accounts: "user@example.test:{PLAIN}pw\nother@example.test:{PLAIN}pw\n", now: now})
	box = filepath.Join(e.vbase, "example.test", "user")
	id := e.enqueue("sender@example.org", testMessage, "user@example.test", "other@example.test")
	if rep := e.handleCtx(ctx, id, true, 0, 1); rep != nil {
		t.Fatalf("reply %+v, want none (cancelled)", rep)
	}
	if n := len(maildirFiles(t, box)); n != 1 {
		t.Fatalf("%d messages delivered to user, want 1", n)
	}
	ent, _ := e.read(queue.Active, id)
	if ent.State[0].Status != queue.Sent {
		t.Errorf("delivered recipient recorded as %+v, want sent", ent.State[0])
	}
}

func TestHandleCommands(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	script := filepath.Join(dir, "prog.sh")
	write(t, script, "#!/bin/sh\ncat > "+out+".msg\n"+
		"printf '%s|%s|%s|%s|%s|%s\\n' \"$SENDER\" \"$RECIPIENT\" \"$LOCAL\" \"$DOMAIN\" \"$EXTENSION\" \"$USER\" > "+out+".env\n")
	if err := os.Chmod(script, 0o755); err != nil {
		t.Fatal(err)
	}
	aliases := "prog: \"|" + script + "\"\n" +
		"tempfail: \"|cat >/dev/null; exit 75\"\n" +
		"nouser: \"|exit 67\"\n" +
		"other: \"|exit 1\"\n" +
		"killed: \"|kill -9 $$\"\n" +
		"noperm: \"|exit 77\"\n"
	e := newTestEnv(t, envOptions{aliases: aliases})
	tests := []struct {
		rcpt string
		want wantResult
	}{
		{"prog+ext@example.test", wantResult{"sent", "2.0.0", "delivered to command: " + script}},
		{"tempfail@example.test", wantResult{"deferred", "4.3.0", "exited with status 75"}},
		{"nouser@example.test", wantResult{"failed", "5.1.1", "exited with status 67"}},
		{"other@example.test", wantResult{"failed", "5.3.0", "exited with status 1"}},
		{"noperm@example.test", wantResult{"failed", "5.7.1", "status 77"}},
		{"killed@example.test", wantResult{"deferred", "4.3.0", "signal 9"}},
	}
	for _, tt := range tests {
		t.Run(tt.rcpt, func(t *testing.T) {
			id := e.enqueue("sender@example.org", testMessage, tt.rcpt)
			checkResults(t, e.handle(id, true, 0), tt.want)
		})
	}
	msg, err := os.ReadFile(out + ".msg")
	if err != nil {
		t.Fatal(err)
	}
	if want := "Return-Path: <sender@example.org>\nDelivered-To: prog+ext@example.test\n" + lf(testMessage); string(msg) != want {
		t.Errorf("command read %q, want %q", msg, want)
	}
	env, _ := os.ReadFile(out + ".env")
	f := strings.Split(strings.TrimSuffix(string(env), "\n"), "|")
	if len(f) != 6 {
		t.Fatalf("command environment %q", env)
	}
	// f[4], EXTENSION, see TestHandleCommandExtension.
	if got, want := strings.Join(append(f[:4:4], f[5]), "|"), "sender@example.org|prog+ext@example.test|prog+ext|example.test|"+e.me.Name; got != want {
		t.Errorf("command environment %q, want %q", got, want)
	}
}

// TestHandleCommandExtension: a command reached through an alias gets the
// recipient's extension in EXTENSION, as local(8) documents (the target
// field ext exists "for commands' environment"), so that
// "user: |procmail -a $EXTENSION" works.
func TestHandleCommandExtension(t *testing.T) {
	e := newTestEnv(t, envOptions{aliases: "prog: |/usr/bin/true\n"})
	x := &expander{a: e.agent, seen: map[string]bool{}}
	if err := x.expand("prog+box@example.test", 0, "", nil); err != nil {
		t.Fatal(err)
	}
	if len(x.targets) != 1 || x.targets[0].ext != "box" {
		t.Errorf("targets %+v, want one command with ext box", x.targets)
	}
}

// TestHandleCommandTimeout: a command that runs past command_time_limit
// is killed, with its process group, and the delivery deferred.
func TestHandleCommandTimeout(t *testing.T) {
	e := newTestEnv(t, envOptions{aliases: "slow: \"|sleep 30 & sleep 30\"\n", params: func(p *config.Params) {
		p.CommandTimeLimit = config.Duration(200 * time.Millisecond)
	}})
	id := e.enqueue("sender@example.org", testMessage, "slow@example.test")
	start := time.Now()
	checkResults(t, e.handle(id, true, 0), wantResult{"deferred", "4.3.0", "timed out after 200ms"})
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
}

// TestHandleFile delivers to a /file target through the per-delivery
// child (this test binary, see TestMain). The child refuses to run as
// root, so as root the test needs another user and is skipped.
func TestHandleFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("file deliveries run in a child that refuses root; run as an ordinary user")
	}
	dir := t.TempDir()
	mbox := filepath.Join(dir, "archive")
	e := newTestEnv(t, envOptions{aliases: "archive: " + mbox + "\n"})
	for range 2 {
		id := e.enqueue("", testMessage, "archive@example.test")
		checkResults(t, e.handle(id, true, 0), wantResult{"sent", "2.0.0", "delivered to file: " + mbox})
	}
	b, err := os.ReadFile(mbox)
	if err != nil {
		t.Fatal(err)
	}
	msgs := strings.Split(string(b), "\n\nFrom MAILER-DAEMON ")
	if len(msgs) != 2 || !strings.HasPrefix(string(b), "From MAILER-DAEMON ") {
		t.Fatalf("mbox:\n%s", b)
	}
	want := "Return-Path: <>\nDelivered-To: archive@example.test\n" + strings.Replace(lf(testMessage), "\nFrom the start", "\n>From the start", 1)
	if !strings.Contains(msgs[1], "\n"+want+"\n") {
		t.Errorf("mbox message:\n%q\nwant to contain\n%q", msgs[1], want)
	}
}

// TestServe speaks the delivery protocol to the agent over a Unix socket.
func TestServe(t *testing.T) {
	e := newTestEnv(t, envOptions{accounts: "user@example.test:{PLAIN}pw\n"})
	sock := filepath.Join(e.dir, "local.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan struct{})
	go func() {
		e.agent.Serve(ctx, l)
		close(served)
	}()
	c, err := ipc.Dial(ctx, sock, ipc.Hello{Channel: delivery.Channel, Version: delivery.Version})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[uint64]queue.ID{}
	for seq := uint64(1); seq <= 3; seq++ {
		id := e.enqueue("sender@example.org", testMessage, "user@example.test")
		ids[seq] = id
		if err := c.Send(delivery.Request{Type: delivery.RequestType, Seq: seq, ID: string(id), Queue: queue.Active, Rcpts: []int{0}, Last: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for range 3 {
		var rep delivery.Reply
		if err := c.Recv(&rep); err != nil {
			t.Fatal(err)
		}
		if _, ok := ids[rep.Seq]; !ok || !rep.Removed || len(rep.Results) != 1 || rep.Results[0].Status != "sent" {
			t.Errorf("reply %+v", rep)
		}
		delete(ids, rep.Seq)
	}
	// A request for another queue is refused by closing the connection.
	c.SendFlush(delivery.Request{Type: delivery.RequestType, Seq: 9, ID: string(e.spool.NewID()), Queue: queue.Incoming, Rcpts: []int{0}})
	var rep delivery.Reply
	if err := c.Recv(&rep); err == nil {
		t.Errorf("reply %+v to a request for incoming/", rep)
	}
	c.Close()
	cancel()
	select {
	case <-served:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if n := len(maildirFiles(t, filepath.Join(e.vbase, "example.test", "user"))); n != 3 {
		t.Errorf("%d messages delivered, want 3", n)
	}
}

// TestServeStopsWithConnectedQmgr: Serve must return when its context
// ends even while qmgr keeps its connection open; otherwise local's stop
// waits for the master's kill.
func TestServeStopsWithConnectedQmgr(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	sock := filepath.Join(e.dir, "local.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan struct{})
	go func() {
		e.agent.Serve(ctx, l)
		close(served)
	}()
	c, err := ipc.Dial(ctx, sock, ipc.Hello{Channel: delivery.Channel, Version: delivery.Version})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cancel()
	select {
	case <-served:
	case <-time.After(3 * time.Second):
		t.Error("Serve still running 3 s after cancel")
	}
}

// TestConcurrentHandle runs several requests at once for the race detector.
func TestConcurrentHandle(t *testing.T) {
	e := newTestEnv(t, envOptions{aliases: "fwd: a@remote.example, user\n", accounts: "user@example.test:{PLAIN}pw\n"})
	var wg sync.WaitGroup
	var sent atomic.Int32
	for range 8 {
		id := e.enqueue("sender@example.org", testMessage, "user@example.test", "fwd@example.test")
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep := e.agent.handle(context.Background(), &delivery.Request{Type: delivery.RequestType, Seq: 1, ID: string(id),
				Queue: queue.Active, Rcpts: []int{0, 1}, Last: true})
			if rep != nil && rep.Removed {
				sent.Add(1)
			}
		}()
	}
	wg.Wait()
	if sent.Load() != 8 {
		t.Errorf("%d of 8 removed", sent.Load())
	}
	if n := len(maildirFiles(t, filepath.Join(e.vbase, "example.test", "user"))); n != 16 {
		t.Errorf("%d messages in the maildir, want 16", n)
	}
	if n := len(e.waker.IDs()); n != 8 {
		t.Errorf("%d forwarded entries, want 8", n)
	}
}

// TestHandleInterruptedIsNoResult: a delivery that the end of the
// request's context interrupts (a reload restarts local while a command
// runs) is no result: nothing is recorded and no reply comes, so that
// qmgr, told Retry by the serve loop, sends it again at once instead of
// deferring the message with a backoff for "context canceled".
func TestHandleInterruptedIsNoResult(t *testing.T) {
	e := newTestEnv(t, envOptions{aliases: "slow: |sleep 10\n",
		params: func(p *config.Params) { p.AllowMailToCommands = []string{"alias"} }})
	id := e.enqueue("sender@example.org", testMessage, "slow@example.test")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if rep := e.handleCtx(ctx, id, true, 0); rep != nil {
		t.Errorf("reply %+v to an interrupted delivery, want none", rep)
	}
	ent, _ := e.read(queue.Active, id)
	if st := ent.State[0]; st.Status != queue.Pending {
		t.Errorf("recipient recorded as %+v, want nothing recorded", st.Result)
	}
}
