package login

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"postern.dev/postern/libmail/maillog"
)

// ChildFlag is the first argument that makes imapd or pop3d a session
// process instead of a daemon.
const ChildFlag = "-session"

// ChildMain is the whole main function of a session process: the
// session service started it as the mailbox's owner, with the client's
// connection as descriptor 3 and its job on standard input. It runs the
// protocol's Handoff, made by newHandoff with the process's logger, and
// exits.
func ChildMain(newHandoff func(log *maillog.Logger) Handoff) {
	if os.Geteuid() == 0 {
		fmt.Fprintln(os.Stderr, "session: refusing to run as root")
		os.Exit(1)
	}
	in := bufio.NewReader(os.Stdin)
	j, err := readJob(in)
	if err != nil {
		fmt.Fprintf(os.Stderr, "session: read job: %v\n", err)
		os.Exit(1)
	}
	log, err := maillog.New(maillog.Options{File: j.Log.File, Name: j.Log.Name, Program: j.Log.Program,
		Facility: j.Log.Facility, Hostname: j.Log.Hostname, Verbose: j.Log.Verbose})
	if err != nil {
		fmt.Fprintf(os.Stderr, "session: log: %v\n", err)
		os.Exit(1)
	}
	os.Exit(runChild(j, in, log, newHandoff(log)))
}

func runChild(j *job, in io.Reader, log *maillog.Logger, h Handoff) int {
	f := os.NewFile(3, "client")
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		log.Error("session of %s: client connection: %v", j.Identity.User, err)
		return 1
	}
	defer nc.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	// EOF on standard input: the session service is gone (stopped or
	// restarted), and the session goes with it, as no daemon outlives
	// the master.
	go func() {
		io.Copy(io.Discard, in)
		cancel()
	}()
	// A session that does not watch ctx still ends with it.
	context.AfterFunc(ctx, func() { nc.Close() })
	if err := h(ctx, prefixConn(nc, j.Buffered), j.Identity, j.Mailbox); err != nil && ctx.Err() == nil {
		log.Warn("session of %s from %s: %v", j.Identity.User, j.Identity.Client.Addr(), err)
		return 1
	}
	return 0
}

// prefixConn returns nc reading first the bytes the login process had
// read already.
func prefixConn(nc net.Conn, pre []byte) net.Conn {
	if len(pre) == 0 {
		return nc
	}
	return &preConn{Conn: nc, pre: pre}
}

type preConn struct {
	net.Conn
	pre []byte
}

func (c *preConn) Read(b []byte) (int, error) {
	if len(c.pre) > 0 {
		n := copy(b, c.pre)
		c.pre = c.pre[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}
