package anvil

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	proto "postern.dev/postern/libmail/ipc/anvil"
	"postern.dev/postern/libmail/maillog"
)

// BenchmarkCount is one event's round trip from smtpd's client to the
// server and back, over a Unix socket, with sessions reporting in
// parallel as smtpd's do: the cost the limits add per MAIL or RCPT.
func BenchmarkCount(b *testing.B) {
	path := filepath.Join(b.TempDir(), "anvil")
	l, err := net.Listen("unix", path)
	if err != nil {
		b.Fatal(err)
	}
	srv := NewServer(NewTable(time.Minute, time.Now), maillog.Discard())
	go srv.Serve(l)
	defer func() { l.Close(); srv.Close() }()
	cl := proto.NewClient(path, maillog.Discard(), time.Second)
	defer cl.Start()()
	ctx := context.Background()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, ok := cl.Count(ctx, proto.Message, "192.0.2.1", ""); ok {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("no answer")
		}
	}
	b.SetParallelism(5) // 10 sessions on 2 CPUs
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok := cl.Count(ctx, proto.Message, "192.0.2.1", "demo@example.test"); !ok {
				b.Error("no answer")
				return
			}
		}
	})
}
