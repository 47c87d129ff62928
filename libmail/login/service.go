package login

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"postern.dev/postern/libmail/account"
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/handoff"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/recipient"
)

// Accounts checks a password against the accounts file;
// *recipient.Directory implements it.
type Accounts interface {
	Authenticate(user, password string) (*account.Account, bool)
}

// SessionService is the privileged side of a protocol: it checks the
// logins its login processes hand over and starts each session as the
// mailbox's owner.
type SessionService struct {
	Protocol    string       // handoff.IMAP or handoff.POP3: what it serves
	Accounts    Accounts     // who may log in
	Vmail       *daemon.User // the owner of virtual mailboxes
	VirtualBase string       // virtual_mailbox_base
	HomeMailbox string       // home_mailbox
	Quota       int64        // mailbox_quota (an account's quota rule overrides it)
	Program     string       // the session program (this one), started with ChildFlag
	Log         *maillog.Logger
	LogOptions  ChildLog // how the session processes log
	Now         func() time.Time

	wg        sync.WaitGroup
	releasing atomic.Bool // a releaseMemory is running
}

// ChildLog is how a session process logs: like its service, on the
// standard error it inherits (the master's log) or to syslog.
type ChildLog struct {
	Program  string `json:"program"`
	File     string `json:"file"` // "" (syslog) or "-" (standard error)
	Name     string `json:"name"`
	Facility string `json:"facility"`
	Hostname string `json:"hostname"`
	Verbose  bool   `json:"verbose,omitempty"`
}

// job is what the service tells a session process on its standard
// input: one JSON line. The process keeps reading its standard input
// after it; EOF means the service is gone, and the session ends.
type job struct {
	Identity Identity `json:"identity"`
	Mailbox  Mailbox  `json:"mailbox"`
	Buffered []byte   `json:"buffered,omitempty"`
	Log      ChildLog `json:"log"`
}

// Serve answers login processes on l until ctx ends, then ends the
// sessions it started (their standard input closes) and waits for them.
func (s *SessionService) Serve(ctx context.Context, l net.Listener) error {
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	for {
		nc, err := l.Accept()
		if err != nil {
			break
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(ctx, nc)
		}()
	}
	s.wg.Wait()
	return nil
}

// handle answers one handoff request.
func (s *SessionService) handle(ctx context.Context, nc net.Conn) {
	defer nc.Close()
	nc.SetDeadline(s.Now().Add(handoffTimeout))
	conn, err := ipc.Accept(nc, handoff.Channel, handoff.Version)
	if err != nil {
		s.Log.Warn("handoff: %v", err)
		return
	}
	uc, ok := nc.(*net.UnixConn)
	if !ok {
		return
	}
	f, err := daemon.ReceiveFile(uc, "client")
	if err != nil {
		s.Log.Warn("handoff: %v", err)
		return
	}
	defer f.Close()
	var req handoff.Request
	if err := conn.Recv(&req); err != nil {
		s.Log.Warn("handoff: %v", err)
		return
	}
	reply := s.login(ctx, f, &req)
	reply.Type = handoff.ReplyType
	if err := conn.SendFlush(reply); err != nil {
		s.Log.Warn("handoff: reply: %v", err)
	}
	s.releaseMemory()
}

// releaseMemory gives the memory of a password check back to the
// system once the login is answered: an Argon2id check takes 19 MiB,
// and Go's scavenger would keep a few logins' worth for minutes in a
// process that is idle between logins. One release serves all the
// logins that come while it runs.
func (s *SessionService) releaseMemory() {
	if s.releasing.CompareAndSwap(false, true) {
		debug.FreeOSMemory()
		s.releasing.Store(false)
	}
}

// login checks a request and starts its session.
func (s *SessionService) login(ctx context.Context, f *os.File, req *handoff.Request) handoff.Reply {
	if err := req.Validate(); err != nil {
		return handoff.Reply{Temp: true, Text: err.Error()}
	}
	if req.Protocol != s.Protocol {
		return handoff.Reply{Temp: true, Text: "a " + req.Protocol + " login sent to the " + s.Protocol + " session service"}
	}
	acct, ok := s.Accounts.Authenticate(req.User, req.Password)
	if !ok {
		return handoff.Reply{Text: "authentication failure"}
	}
	m, err := recipient.AccountMatch(acct, "")
	if err != nil {
		s.Log.Warn("login of %s: %v", acct.Address, err)
		return handoff.Reply{Temp: true, Text: "the account's mailbox owner is unknown"}
	}
	mailbox := Mailbox{Root: recipient.MaildirRoot(m, s.VirtualBase, s.HomeMailbox),
		Quota: recipient.MailboxQuota(m, s.Quota), Hostname: s.LogOptions.Hostname}
	owner := recipient.MaildirOwner(m, s.Vmail)
	client, _ := netip.ParseAddrPort(req.Client)
	local, _ := netip.ParseAddrPort(req.Local)
	j := job{Identity: Identity{User: acct.Address, Mechanism: req.Mechanism, Tag: req.Tag, Client: client, Local: local,
		TLS: req.TLS, UID: owner.UID, GID: owner.GID}, Mailbox: mailbox, Buffered: req.Buffered, Log: s.LogOptions}
	pid, err := s.start(ctx, owner, f, &j)
	if err != nil {
		return handoff.Reply{Temp: true, Text: err.Error()}
	}
	return handoff.Reply{OK: true, User: acct.Address, PID: pid}
}

// start runs a session process as owner with the client as its
// descriptor 3.
func (s *SessionService) start(ctx context.Context, owner *daemon.User, f *os.File, j *job) (int, error) {
	cmd, err := daemon.CommandAsUser(owner, s.Program, ChildFlag)
	if err != nil {
		return 0, err
	}
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	daemon.InheritFiles(cmd, f)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 0, err
	}
	line, err := json.Marshal(j)
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	if _, err := stdin.Write(append(line, '\n')); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return 0, err
	}
	s.wg.Add(1)
	go s.reap(ctx, cmd, stdin)
	return cmd.Process.Pid, nil
}

// reap waits for a session process; when the service stops first, it
// closes the process's standard input, which ends the session.
func (s *SessionService) reap(ctx context.Context, cmd *exec.Cmd, stdin interface{ Close() error }) {
	defer s.wg.Done()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		stdin.Close()
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			err = <-done
		}
	}
	if err != nil {
		s.Log.Warn("session process %d: %v", cmd.Process.Pid, err)
	}
}

// readJob reads the job line a session process starts with.
func readJob(r *bufio.Reader) (*job, error) {
	line, err := r.ReadBytes('\n')
	if err != nil {
		return nil, err
	}
	var j job
	if err := json.Unmarshal(line, &j); err != nil {
		return nil, err
	}
	return &j, nil
}
