package local

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"postern.dev/postern/libmail/address"
	"postern.dev/postern/libmail/commit"
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/mailbox"
	"postern.dev/postern/libmail/maildir"
	"postern.dev/postern/libmail/message"
	"postern.dev/postern/libmail/queue"
)

// ChildFlag is the first argument that makes the local program a
// per-delivery child instead of the daemon.
const ChildFlag = "-child"

// job is what the daemon asks of a per-delivery child: one JSON line on
// its standard input, followed by the message (CRLF form). One stream
// carries both, so no descriptor is passed beyond the three standard
// ones (only libmail/daemon and the master pass descriptors).
type job struct {
	Kind     string `json:"kind"` // "maildir" or "file"
	Path     string `json:"path"`
	Folder   string `json:"folder,omitempty"` // a Maildir++ folder of Path (Junk for quarantined mail)
	Header   string `json:"header"`
	Sender   string `json:"sender"`
	Hostname string `json:"hostname"`
	Sync     string `json:"sync,omitempty"`  // sync_method
	Quota    int64  `json:"quota,omitempty"` // the Maildir's storage limit in bytes
	// Key, KeyTime (Unix nanoseconds) and Recheck are the delivery's
	// maildir.Once.
	Key     string `json:"key,omitempty"`
	KeyTime int64  `json:"key_time,omitempty"`
	Recheck bool   `json:"recheck,omitempty"`
}

// childResult is the child's answer on its standard output.
type childResult struct {
	OK   bool   `json:"ok"`
	Temp bool   `json:"temp"`
	DSN  string `json:"dsn"`
	Text string `json:"text"`
	Dup  bool   `json:"dup,omitempty"` // the Maildir had it from an earlier attempt
}

// runChild delivers a system user's target in a process running as the
// target's user, so the files it creates and the access checks it meets
// are that user's, not the mail system's.
func (a *Agent) runChild(ctx context.Context, e *queue.Entry, f *os.File, t target, once maildir.Once) (string, error) {
	u := t.user
	if u == nil {
		return "", permanent("5.3.0", "internal error: no user for %s", t.value)
	}
	if (u.UID != os.Geteuid() || u.GID != os.Getegid()) && !daemon.CanSwitchUsers() {
		return "", temporary("4.3.0", "cannot deliver as user %s: local has no privilege to switch users (start the master as root)", u.Name)
	}
	if t.kind == toCommand {
		return a.runCommand(ctx, e, f, t)
	}
	j := job{Kind: "maildir", Path: t.value, Header: string(header(e, t.addr)), Sender: e.Sender, Hostname: a.cfg.Hostname, Sync: a.cfg.SyncMethod, Quota: t.quota,
		Key: once.Key, KeyTime: once.Time.UnixNano(), Recheck: once.Recheck}
	note := "delivered to maildir"
	if e.Quarantine != "" && t.kind == toUser {
		j.Folder = maildir.JunkFolder
		note = "delivered to maildir folder " + maildir.JunkFolder + " (" + e.Quarantine + ")"
	}
	if t.kind == toFile {
		j.Kind, note = "file", "delivered to file: "+t.value
	}
	cmd := daemon.CommandAs(u, a.self, ChildFlag)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	line, err := json.Marshal(j)
	if err != nil {
		return "", temporary("4.3.0", "encode job: %v", err)
	}
	cmd.Stdin = io.MultiReader(bytes.NewReader(append(line, '\n')), e.Message(f))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &limited{b: &errb, n: 4096}
	if err := cmd.Start(); err != nil {
		return "", temporary("4.3.0", "start delivery as %s: %v", u.Name, err)
	}
	werr := cmd.Wait()
	var r childResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return "", temporary("4.3.0", "delivery as %s failed: %v %s", u.Name, werr, strings.TrimSpace(errb.String()))
	}
	if !r.OK {
		return "", &deliveryError{temp: r.Temp, dsn: r.DSN, text: r.Text}
	}
	if r.Dup {
		note += dupNote
	}
	return note, nil
}

// runCommand pipes the message into SHELL -c COMMAND as the target's user,
// with the environment Postfix's local(8) gives commands.
func (a *Agent) runCommand(ctx context.Context, e *queue.Entry, f *os.File, t target) (string, error) {
	u := t.user
	ctx, cancel := context.WithTimeout(ctx, a.cfg.CommandLimit)
	defer cancel()
	cmd := daemon.CommandAs(u, a.cfg.Shell, "-c", t.value)
	cmd.Dir = u.Home
	if st, err := os.Stat(u.Home); err != nil || !st.IsDir() {
		cmd.Dir = "/"
	}
	local, domain := address.Split(t.addr)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + u.Home, "USER=" + u.Name, "LOGNAME=" + u.Name, "SHELL=" + a.cfg.Shell,
		"SENDER=" + e.Sender, "RECIPIENT=" + t.addr, "LOCAL=" + local, "DOMAIN=" + domain, "EXTENSION=" + t.ext}
	pr, pw := io.Pipe()
	cmd.Stdin = pr
	var out bytes.Buffer
	lim := &limited{b: &out, n: 1024}
	cmd.Stdout, cmd.Stderr = lim, lim
	if err := cmd.Start(); err != nil {
		return "", temporary("4.3.0", "cannot run %q as %s: %v", t.value, u.Name, err)
	}
	go func() {
		lw := message.NewLFWriter(pw)
		lw.Write(header(e, t.addr))
		_, err := io.Copy(lw, e.Message(f))
		if err == nil {
			err = lw.Close()
		}
		pw.CloseWithError(err)
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		// The command runs in its own session: kill the whole group.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		pr.Close()
		return "", temporary("4.3.0", "command %q timed out after %s", t.value, a.cfg.CommandLimit)
	}
	pr.Close()
	msg := strings.Join(strings.Fields(out.String()), " ")
	if err == nil {
		return "delivered to command: " + t.value, nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return "", temporary("4.3.0", "command %q: %v", t.value, err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return "", temporary("4.3.0", "command %q died with signal %d %s", t.value, ws.Signal(), msg)
	}
	return "", exitStatus(t.value, ee.ExitCode(), msg)
}

// exitStatus maps a command's exit status to a result through
// sysexits.h, as MTAs do: EX_TEMPFAIL (75) means try again later.
func exitStatus(cmd string, code int, out string) error {
	text := strings.TrimSpace(fmt.Sprintf("command %q exited with status %d %s", cmd, code, out))
	// As sendmail and Postfix (global/sys_exits.c): only EX_OSERR and
	// EX_TEMPFAIL are temporary.
	switch code {
	case 71, 75: // EX_OSERR, EX_TEMPFAIL
		return temporary("4.3.0", "%s", text)
	case 65: // EX_DATAERR
		return permanent("5.6.0", "%s", text)
	case 67: // EX_NOUSER
		return permanent("5.1.1", "%s", text)
	case 68: // EX_NOHOST
		return permanent("5.1.2", "%s", text)
	case 73: // EX_CANTCREAT
		return permanent("5.2.0", "%s", text)
	case 76: // EX_PROTOCOL
		return permanent("5.5.0", "%s", text)
	case 77: // EX_NOPERM
		return permanent("5.7.1", "%s", text)
	case 78: // EX_CONFIG
		return permanent("5.3.5", "%s", text)
	}
	return permanent("5.3.0", "%s", text)
}

// limited keeps the first n bytes written to it and discards the rest,
// so a chatty command cannot fill memory.
type limited struct {
	b *bytes.Buffer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// ChildMain is the per-delivery child: it runs as the recipient's user,
// reads its job and then the message from standard input, delivers, and
// reports on standard output.
func ChildMain() {
	r := childResult{OK: true}
	dup, err := child()
	r.Dup = dup
	if err != nil {
		var de *deliveryError
		if !errors.As(err, &de) {
			de = mailboxError("", err).(*deliveryError)
			de.text = err.Error()
		}
		r = childResult{Temp: de.temp, DSN: de.dsn, Text: de.text}
	}
	json.NewEncoder(os.Stdout).Encode(r)
}

// child does the job; dup reports a Maildir delivery found already made.
func child() (dup bool, err error) {
	in := bufio.NewReaderSize(os.Stdin, 64<<10)
	line, err := in.ReadBytes('\n')
	if err != nil {
		return false, temporary("4.3.0", "read job: %v", err)
	}
	var j job
	if err := json.Unmarshal(line, &j); err != nil {
		return false, temporary("4.3.0", "read job: %v", err)
	}
	if os.Geteuid() == 0 {
		return false, temporary("4.3.0", "refusing to deliver as root")
	}
	switch j.Kind {
	case "maildir":
		policy, err := commit.ForMethod(j.Sync)
		if err != nil {
			return false, temporary("4.3.0", "%v", err)
		}
		w := maildir.NewWriterPolicy(j.Hostname, os.Getpid(), time.Now, policy)
		defer w.Close()
		d := mailbox.Delivery{Root: j.Path, Folder: j.Folder, QuotaLimit: j.Quota, Header: []byte(j.Header), Body: in, Now: time.Now()}
		if j.Key != "" {
			d.Once = maildir.Once{Key: j.Key, Time: time.Unix(0, j.KeyTime), Recheck: j.Recheck}
		}
		_, dup, err := mailbox.Deliver(context.Background(), w, d)
		if err != nil {
			return false, mailboxError(j.Path, err)
		}
		return dup, nil
	case "file":
		return false, appendFile(j, in)
	}
	return false, permanent("5.3.0", "unknown job %q", j.Kind)
}

// appendFile appends the message to a file in mbox format: a From_ line,
// the message with Unix line ends and ">From " quoting, an empty line.
// The file is locked with flock(2), which mail readers honour.
func appendFile(j job, msg io.Reader) error {
	f, err := os.OpenFile(j.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return mailboxError(j.Path, err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return temporary("4.2.0", "lock %s: %v", j.Path, err)
	}
	sender := j.Sender
	if sender == "" {
		sender = "MAILER-DAEMON"
	}
	w := &fromQuoter{w: f, bol: true}
	lw := message.NewLFWriter(w)
	fmt.Fprintf(f, "From %s %s\n", sender, time.Now().Format("Mon Jan _2 15:04:05 2006"))
	lw.Write([]byte(j.Header))
	if _, err := io.Copy(lw, msg); err != nil {
		return temporary("4.3.0", "read message: %v", err)
	}
	if err := lw.Close(); err != nil {
		return mailboxError(j.Path, err)
	}
	if err := w.Flush(); err != nil {
		return mailboxError(j.Path, err)
	}
	if !w.bol {
		f.Write([]byte("\n"))
	}
	f.Write([]byte("\n"))
	if err := f.Sync(); err != nil {
		return mailboxError(j.Path, err)
	}
	return nil
}

// fromQuoter writes ">From " for lines that start with "From ", so an
// mbox reader does not see a new message there.
type fromQuoter struct {
	w     io.Writer
	bol   bool // at the beginning of a line
	match int  // bytes of "From " matched at the start of this line, held back
	buf   []byte
}

const fromLine = "From "

func (q *fromQuoter) Write(p []byte) (int, error) {
	q.buf = q.buf[:0]
	for _, c := range p {
		if q.bol || q.match > 0 {
			if c == fromLine[q.match] {
				q.bol = false
				if q.match++; q.match == len(fromLine) {
					q.buf = append(q.buf, ">"+fromLine...)
					q.match = 0
				}
				continue
			}
			q.buf = append(q.buf, fromLine[:q.match]...)
			q.match = 0
		}
		q.buf = append(q.buf, c)
		q.bol = c == '\n'
	}
	if _, err := q.w.Write(q.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes what Write held back: the start of a last line that
// might have become "From ".
func (q *fromQuoter) Flush() error {
	if q.match == 0 {
		return nil
	}
	_, err := q.w.Write([]byte(fromLine[:q.match]))
	q.match = 0
	return err
}
