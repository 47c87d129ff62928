package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/control"
)

// binDir holds the binaries under test, built once for the package.
var binDir string

// workDir holds every sandbox. It is world-searchable because, when the
// tests run as root, the daemons run as postern and vmail and must reach
// the sandboxes through it.
var workDir string

func TestMain(m *testing.M) {
	code := func() int {
		var err error
		workDir, err = os.MkdirTemp("", "postern-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(workDir)
		os.Chmod(workDir, 0o755)
		binDir = filepath.Join(workDir, "bin")
		if dir := os.Getenv("POSTERN_BIN"); dir != "" {
			binDir = dir
		} else {
			build := exec.Command("go", "build", "-o", binDir+"/", "postern.dev/postern/cmd/...")
			build.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
				return 1
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

// System is one running postern sandbox.
type System struct {
	t      *testing.T
	Dir    string
	Base   int
	Config string
	master *exec.Cmd
	out    *bytes.Buffer
	done   chan error
}

// Options adjust a sandbox before it starts.
type Options struct {
	// Set holds parameters for "postern config set" (NAME=VALUE).
	Set []string
	// Append is added to postern.toml as is (service tables).
	Append string
	// NoStart writes the sandbox without starting it.
	NoStart bool
	// Dir, if set, is where the sandbox goes (an empty directory, such
	// as a filesystem the test mounted) instead of a new one under
	// workDir.
	Dir string
}

// NewSystem writes a sandbox on a free port base and starts its master.
func NewSystem(t *testing.T, o Options) *System {
	t.Helper()
	// Unix socket paths under the spool must stay within 108 bytes, so
	// long test names are cut.
	name := strings.ReplaceAll(t.Name(), "/", "_")
	if len(name) > 32 {
		name = name[:32]
	}
	dir, err := o.Dir, error(nil)
	if dir == "" {
		dir, err = os.MkdirTemp(workDir, name+"-")
	}
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	s := &System{t: t, Dir: dir, Base: freePortBase(t), Config: filepath.Join(dir, "postern.toml")}
	s.Postern("sandbox", dir, "-port-base", fmt.Sprint(s.Base))
	if len(o.Set) > 0 {
		s.Postern(append([]string{"config", "set"}, o.Set...)...)
	}
	if o.Append != "" {
		f, err := os.OpenFile(s.Config, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("\n" + o.Append + "\n")
		f.Close()
	}
	t.Cleanup(s.Stop)
	if !o.NoStart {
		s.Start()
	}
	return s
}

// Postern runs the admin command against this sandbox and returns its
// standard output; a failure fails the test.
func (s *System) Postern(args ...string) string {
	s.t.Helper()
	out, err := s.PosternErr(args...)
	if err != nil {
		s.t.Fatalf("postern %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// PosternErr runs the admin command and returns its combined output.
func (s *System) PosternErr(args ...string) (string, error) {
	full := args
	if len(args) == 0 || args[0] != "sandbox" {
		full = append([]string{"-c", s.Config}, args...)
	}
	cmd := exec.Command(filepath.Join(binDir, "postern"), full...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Start runs the master in the foreground (as make run does) and waits
// until every service is ready.
func (s *System) Start() {
	s.t.Helper()
	s.out = new(bytes.Buffer)
	s.master = exec.Command(filepath.Join(binDir, "master"), "-c", s.Config)
	s.master.Stdout, s.master.Stderr = s.out, s.out
	s.master.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.master.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.done = make(chan error, 1)
	go func(c *exec.Cmd, done chan error) { done <- c.Wait() }(s.master, s.done)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.master = nil // nothing left for Stop to stop
			s.t.Fatalf("master exited: %v\n%s\n%s", err, s.out, s.Log())
		default:
		}
		if st, err := s.Status(); err == nil && st.Ready {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("master not ready after 30s\n%s\n%s", s.out, s.Log())
}

// Stop stops the master with SIGTERM and waits for it.
func (s *System) Stop() {
	if s.master == nil {
		return
	}
	s.master.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(45 * time.Second):
		s.master.Process.Kill()
		<-s.done
		s.t.Errorf("master did not stop in 45s")
	}
	s.master = nil
}

// MasterPID returns the running master's PID.
func (s *System) MasterPID() int { return s.master.Process.Pid }

// Status asks the master for its status.
func (s *System) Status() (*control.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := ipc.Dial(ctx, control.Path(filepath.Join(s.Dir, "spool")), ipc.Hello{Channel: control.Channel, Version: control.Version})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// A master that accepts but never answers must not hang the test.
	conn.Peer().SetDeadline(time.Now().Add(5 * time.Second))
	if err := conn.SendFlush(control.Request{Type: control.StatusGet}); err != nil {
		return nil, err
	}
	var r control.Reply
	if err := conn.Recv(&r); err != nil {
		return nil, err
	}
	return r.Status, nil
}

// PIDs returns the PIDs of a service's processes.
func (s *System) PIDs(service string) []int {
	st, err := s.Status()
	if err != nil {
		return nil
	}
	var out []int
	for _, sv := range st.Services {
		if sv.Name == service {
			for _, p := range sv.Processes {
				out = append(out, p.PID)
			}
		}
	}
	return out
}

// Addr is the loopback address of a standard port in this sandbox.
func (s *System) Addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", s.Base+port) }

// Maildir is the Maildir of a sandbox account.
func (s *System) Maildir(account string) string {
	local, domain, _ := strings.Cut(account, "@")
	return filepath.Join(s.Dir, "mail", domain, local)
}

// Log returns the mail log.
func (s *System) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "log", "maillog"))
	return string(b)
}

// Messages returns the files in a Maildir's new/ directory.
func (s *System) Messages(account string) []string {
	names, _ := filepath.Glob(filepath.Join(s.Maildir(account), "new", "*"))
	return names
}

// WaitMessages waits until account's Maildir holds n messages.
func (s *System) WaitMessages(account string, n int, timeout time.Duration) []string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		m := s.Messages(account)
		if len(m) >= n {
			return m
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s has %d messages after %s, want %d\n%s", account, len(m), timeout, n, tail(s.Log(), 40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// QueueEmpty reports whether no entry is waiting in any queue. tmp/ does
// not count: what a killed smtpd left there was never acknowledged, and
// the master clears it at its next start.
func (s *System) QueueEmpty() bool {
	for _, q := range []string{"incoming", "active", "deferred"} {
		names, _ := os.ReadDir(filepath.Join(s.Dir, "spool", q))
		if len(names) > 0 {
			return false
		}
	}
	return true
}

// QueueReport lists what is left in the queues, with the log lines of
// the first leftover, for failure messages.
func (s *System) QueueReport() string {
	var b strings.Builder
	for _, q := range []string{"incoming", "active", "deferred", "tmp", "corrupt"} {
		names, _ := os.ReadDir(filepath.Join(s.Dir, "spool", q))
		if len(names) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s: %d entries\n", q, len(names))
		id := names[0].Name()
		for _, line := range strings.Split(s.Log(), "\n") {
			if strings.Contains(line, id) {
				b.WriteString("  " + line + "\n")
			}
		}
	}
	return b.String()
}

// WaitQueueEmpty waits until the queue has drained.
func (s *System) WaitQueueEmpty(timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for !s.QueueEmpty() {
		if time.Now().After(deadline) {
			s.t.Fatalf("queue not empty after %s\n%s", timeout, s.QueueReport())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitLog waits until the mail log contains substr.
func (s *System) WaitLog(substr string, timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(s.Log(), substr) {
		if time.Now().After(deadline) {
			s.t.Fatalf("log lacks %q after %s\n%s", substr, timeout, tail(s.Log(), 40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freePortBase finds a port base whose standard ports are all free on
// loopback. Bases are picked at random so that runs do not collide.
func freePortBase(t *testing.T) int {
	t.Helper()
	for range 200 {
		base := 20000 + 1000*rand.IntN(40)
		ok := true
		for _, p := range []int{25, 110, 143, 465, 587, 993, 995} {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+p))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free port base")
	return 0
}

// Dialogue is a raw SMTP client for tests that need to send exactly
// what they mean, hostile input included.
type Dialogue struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// Dial connects to addr and reads the greeting.
func Dial(t *testing.T, addr string) *Dialogue {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	d := &Dialogue{t: t, conn: c, r: bufio.NewReader(c)}
	t.Cleanup(func() { c.Close() })
	if reply := d.Reply(); !strings.HasPrefix(reply, "220") {
		t.Fatalf("greeting %q", reply)
	}
	return d
}

// Send writes raw bytes.
func (d *Dialogue) Send(s string) {
	d.t.Helper()
	d.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := d.conn.Write([]byte(s)); err != nil {
		d.t.Fatalf("write: %v", err)
	}
}

// Reply reads one complete (possibly multi-line) reply; "" on EOF.
func (d *Dialogue) Reply() string {
	d.t.Helper()
	d.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var lines []string
	for {
		line, err := d.r.ReadString('\n')
		if err != nil {
			return strings.Join(lines, "\n")
		}
		line = strings.TrimRight(line, "\r\n")
		lines = append(lines, line)
		if len(line) < 4 || line[3] != '-' {
			return strings.Join(lines, "\n")
		}
	}
}

// Cmd sends one command line and returns the reply.
func (d *Dialogue) Cmd(line string) string {
	d.t.Helper()
	d.Send(line + "\r\n")
	return d.Reply()
}

// Expect sends a command and checks the reply's code.
func (d *Dialogue) Expect(line, code string) string {
	d.t.Helper()
	r := d.Cmd(line)
	if !strings.HasPrefix(r, code) {
		d.t.Fatalf("%q: got %q, want %s", line, r, code)
	}
	return r
}
