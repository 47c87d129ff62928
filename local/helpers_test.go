package local

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"postern.dev/postern/libmail/testkit"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/libmail/recipient"
)

// TestMain lets the test binary stand in for the local program when the
// agent starts a per-delivery child (os.Executable is the test binary).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == ChildFlag {
		ChildMain()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// recWaker records wake-ups.
type recWaker struct {
	mu  sync.Mutex
	ids []queue.ID
}

func (w *recWaker) Wake(id queue.ID) {
	w.mu.Lock()
	w.ids = append(w.ids, id)
	w.mu.Unlock()
}

func (w *recWaker) IDs() []queue.ID {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]queue.ID(nil), w.ids...)
}

// testEnv is a spool, an aliases file, an accounts file and an agent.
type testEnv struct {
	t       *testing.T
	dir     string // everything lives under here
	spool   *queue.Spool
	agent   *Agent
	waker   *recWaker
	log     *testkit.LogBuffer
	params  config.Params
	aliases string
	vbase   string
	me      *daemon.User
}

type envOptions struct {
	aliases  string
	accounts string
	params   func(*config.Params)
	now      func() time.Time
}

func newTestEnv(t *testing.T, o envOptions) *testEnv {
	t.Helper()
	me, err := daemon.Current()
	if err != nil {
		t.Skipf("current user: %v", err)
	}
	dir := t.TempDir()
	root := testkit.MakeSpool(t, filepath.Join(dir, "spool"))
	e := &testEnv{t: t, dir: dir, waker: &recWaker{}, log: &testkit.LogBuffer{}, me: me,
		aliases: filepath.Join(dir, "aliases"), vbase: filepath.Join(dir, "vhosts")}
	accounts := filepath.Join(dir, "accounts")
	if o.aliases != "" {
		write(t, e.aliases, o.aliases)
	}
	if o.accounts != "" {
		write(t, accounts, o.accounts)
	}
	p := config.Default(config.Options{Hostname: "mail.example.test"}).Params
	p.MyDestination = []string{"example.test", "lists.example.test"}
	p.QueueDirectory = root
	p.AliasMaps = []string{e.aliases}
	p.AccountsFile = accounts
	p.LocalSystemUsers = false
	p.VirtualMailboxBase = e.vbase
	// Commands and files from the test's own aliases file run as the test's
	// user, root or not, so no privilege switch is needed.
	p.DefaultPrivs = me.Name
	p.CommandTimeLimit = config.Duration(10 * time.Second)
	if o.params != nil {
		o.params(&p)
	}
	e.params = p
	now := o.now
	if now == nil {
		now = time.Now
	}
	log := maillog.ForWriter(e.log, "local", "mail.example.test", now)
	e.spool = queue.Open(root, time.Now)
	t.Cleanup(func() { e.spool.Close() })
	e.agent, err = NewAgent(NewConfig(&p), e.spool, recipient.New(&p, log, now), me, e.waker, log, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.agent.mw.Close() })
	return e
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

const testMessage = "From: sender@example.org\r\nTo: user@example.test\r\nSubject: test\r\n\r\nHello.\r\nFrom the start of a line.\r\n"

// enqueue writes an entry and moves it to active/, as qmgr would.
func (e *testEnv) enqueue(sender string, msg string, rcpts ...string) queue.ID {
	e.t.Helper()
	env := queue.Envelope{Sender: sender, ClientName: "client.example.org", Recipients: testkit.Recipients(rcpts...)}
	return testkit.Enqueue(e.t, e.spool, queue.Active, env, msg)
}

// read reads entry id back from queue q.
func (e *testEnv) read(q string, id queue.ID) (*queue.Entry, string) {
	e.t.Helper()
	f, err := os.Open(e.spool.Path(q, id))
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	ent, err := queue.Read(f, id)
	if err != nil {
		e.t.Fatal(err)
	}
	b, err := io.ReadAll(ent.Message(f))
	if err != nil {
		e.t.Fatal(err)
	}
	return ent, string(b)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// maildirFiles returns the contents of the messages in root/new.
func maildirFiles(t *testing.T, root string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(root, "new"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range ents {
		b, err := os.ReadFile(filepath.Join(root, "new", de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// lf is msg in the Unix line-end form of a mailbox.
func lf(msg string) string { return strings.ReplaceAll(msg, "\r\n", "\n") }
