package pickup

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/intake"
	"postern.dev/postern/libmail/maildrop"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/libmail/testkit"
)

type wakes []queue.ID

func (w *wakes) Wake(id queue.ID) { *w = append(*w, id) }

type harness struct {
	t     *testing.T
	root  string
	p     *Pickup
	wakes *wakes
	log   *testkit.LogBuffer
	cfg   *Config
}

// Users of the tests: the test's own uid is "alice" (untrusted unless
// a test makes it SelfUID); any other uid is unknown.
func newHarness(t *testing.T) *harness {
	root := testkit.MakeSpool(t, filepath.Join(t.TempDir(), "spool"))
	os.Mkdir(filepath.Join(root, maildrop.Dir), 0o733)
	lb := &testkit.LogBuffer{}
	log, err := maillog.New(maillog.Options{File: "-", Program: "pickup", Stderr: lb})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{Maildrop: filepath.Join(root, maildrop.Dir), Corrupt: filepath.Join(root, "corrupt"), Origin: "example.test",
		Trusted: map[string]bool{"root": true}, SelfUID: -1, SizeLimit: 10000, Interval: time.Minute,
		Intake: intake.Config{Hostname: "mail.example.test", MailName: "postern", SizeLimit: 10000, HeaderLimit: 1000}}
	lookup := func(uid int) (User, error) {
		if uid == os.Getuid() {
			return User{Login: "alice", FullName: "Alice Example"}, nil
		}
		return User{}, errors.New("unknown user")
	}
	w := &wakes{}
	spool := queue.Open(root, time.Now)
	t.Cleanup(func() { spool.Close() })
	return &harness{t: t, root: root, p: New(cfg, spool, w, log, time.Now, lookup), wakes: w, log: lb, cfg: cfg}
}

func (h *harness) submit(env *maildrop.Envelope, msg string) string {
	h.t.Helper()
	f, err := maildrop.Create(h.cfg.Maildrop)
	if err != nil {
		h.t.Fatal(err)
	}
	maildrop.WriteEnvelope(f, env)
	f.Write([]byte(msg))
	name, err := f.Commit()
	if err != nil {
		h.t.Fatal(err)
	}
	return name
}

// entry reads the one queued entry.
func (h *harness) entry() (*queue.Entry, string) {
	h.t.Helper()
	if len(*h.wakes) != 1 {
		h.t.Fatalf("%d wake-ups, want 1\n%s", len(*h.wakes), h.log)
	}
	id := (*h.wakes)[0]
	f, err := os.Open(filepath.Join(h.root, queue.Incoming, string(id)))
	if err != nil {
		h.t.Fatal(err)
	}
	defer f.Close()
	e, err := queue.Read(f, id)
	if err != nil {
		h.t.Fatal(err)
	}
	msg, _ := io.ReadAll(e.Message(f))
	return e, string(msg)
}

func (h *harness) maildropEmpty() bool {
	names, _ := os.ReadDir(h.cfg.Maildrop)
	return len(names) == 0
}

func TestTakeUntrustedSender(t *testing.T) {
	h := newHarness(t)
	h.submit(&maildrop.Envelope{HasSender: true, Sender: "ceo@bank.example", Recipients: rcpts("bob", "carol@example.org")},
		"Subject: hi\n\nbody\n")
	if n := h.p.Scan(context.Background()); n != 1 {
		t.Fatalf("queued %d\n%s", n, h.log)
	}
	e, msg := h.entry()
	if e.Sender != "alice@example.test" || e.Recipients[0].Addr != "bob@example.test" || e.Recipients[1].Addr != "carol@example.org" {
		t.Errorf("envelope %+v", e.Envelope)
	}
	for _, want := range []string{"Received: by mail.example.test (postern, from userid", "\r\nSubject: hi\r\n",
		"From: Alice Example <alice@example.test>\r\n", "Message-ID: <", "\r\n\r\nbody\r\n"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	log := h.log.String()
	for _, want := range []string{"may not send as <ceo@bank.example>", "uid=", "from=<alice>", "message-id=<"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if !h.maildropEmpty() {
		t.Error("the submission was not removed")
	}
}

func TestTakeTrustedSender(t *testing.T) {
	h := newHarness(t)
	h.cfg.SelfUID = os.Getuid() // the user pickup runs as: trusted
	h.submit(&maildrop.Envelope{HasSender: true, Sender: "list-bounces@example.org", FullName: "The List", EnvID: "e1", Ret: "HDRS",
		Recipients: []maildrop.Recipient{{Addr: "bob@example.org", Notify: "SUCCESS,DELAY"}}}, "Subject: hi\n\nbody\n")
	h.p.Scan(context.Background())
	e, msg := h.entry()
	if e.Recipients[0].Notify != "SUCCESS,DELAY" || e.EnvID != "e1" || e.Ret != "HDRS" {
		t.Errorf("DSN requests lost: %+v", e.Envelope)
	}
	if e.Sender != "list-bounces@example.org" || !strings.Contains(msg, "From: The List <list-bounces@example.org>\r\n") {
		t.Errorf("sender %q, message\n%s", e.Sender, msg)
	}
	if strings.Contains(h.log.String(), "may not send") {
		t.Errorf("warned about a trusted sender:\n%s", h.log)
	}
	// The null sender, for a trusted caller: no From: is made up.
	h2 := newHarness(t)
	h2.cfg.SelfUID = os.Getuid()
	h2.submit(&maildrop.Envelope{HasSender: true, Recipients: rcpts("bob@example.org")}, "Subject: hi\n\nbody\n")
	h2.p.Scan(context.Background())
	e, msg = h2.entry()
	if e.Sender != "" || strings.Contains(msg, "From:") {
		t.Errorf("null sender: %q\n%s", e.Sender, msg)
	}
}

func TestTakeKeepsFrom(t *testing.T) {
	h := newHarness(t)
	h.submit(&maildrop.Envelope{Recipients: rcpts("bob@example.org")}, "From: Al <al@example.org>\nSubject: hi\n\nbody\n")
	h.p.Scan(context.Background())
	_, msg := h.entry()
	if strings.Count(msg, "From:") != 1 || !strings.Contains(msg, "From: Al <al@example.org>") {
		t.Errorf("message\n%s", msg)
	}
}

func TestTakeBadFiles(t *testing.T) {
	h := newHarness(t)
	// Malformed envelope, a bad recipient, a message intake refuses, an
	// unknown owner cannot be made here without root; a symlink and a
	// name sendmail never makes.
	bad := h.submit(&maildrop.Envelope{Recipients: rcpts("bob@")}, "x\n")
	nul := h.submit(&maildrop.Envelope{Recipients: rcpts("bob")}, "a\x00b\n")
	raw := strings.Repeat("e", 32)
	os.WriteFile(filepath.Join(h.cfg.Maildrop, raw), []byte("garbage\n"), 0o644)
	link := strings.Repeat("f", 32)
	os.Symlink("/etc/passwd", filepath.Join(h.cfg.Maildrop, link))
	os.WriteFile(filepath.Join(h.cfg.Maildrop, "junk"), nil, 0o644)
	if n := h.p.Scan(context.Background()); n != 0 {
		t.Fatalf("queued %d", n)
	}
	if !h.maildropEmpty() {
		names, _ := os.ReadDir(h.cfg.Maildrop)
		t.Errorf("maildrop/ still holds %v", names)
	}
	for _, n := range []string{bad, nul, raw} {
		if _, err := os.Stat(filepath.Join(h.cfg.Corrupt, "maildrop."+n)); err != nil {
			t.Errorf("%s not moved aside: %v", n, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(h.cfg.Corrupt, "maildrop."+link)); err == nil {
		t.Error("the symlink was kept")
	}
	log := h.log.String()
	for _, want := range []string{bad + " from uid=", "recipient: address <bob@>", nul + " from uid=", "message refused: NUL",
		raw + " from uid=", "malformed maildrop file", "removed " + link, `removed "junk"`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if _, err := os.Stat("/etc/passwd"); err != nil {
		t.Error("the link's target went")
	}
}

// TestTakeUnknownOwner: a file whose owner the user database does not
// know has no sender to give; it is moved aside.
func TestTakeUnknownOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file away")
	}
	h := newHarness(t)
	name := h.submit(&maildrop.Envelope{Recipients: rcpts("bob")}, "x\n")
	os.Chown(filepath.Join(h.cfg.Maildrop, name), 54321, 54321)
	h.p.Scan(context.Background())
	if _, err := os.Stat(filepath.Join(h.cfg.Corrupt, "maildrop."+name)); err != nil || !strings.Contains(h.log.String(), "uid=54321 moved to") ||
		!strings.Contains(h.log.String(), "owner uid 54321 is no user") {
		t.Errorf("unknown owner: %v\n%s", err, h.log)
	}
}

func TestTakeTooBig(t *testing.T) {
	h := newHarness(t)
	name := h.submit(&maildrop.Envelope{Recipients: rcpts("bob")}, strings.Repeat("0123456789\n", 2000))
	h.p.Scan(context.Background())
	if _, err := os.Stat(filepath.Join(h.cfg.Corrupt, "maildrop."+name)); err != nil || !strings.Contains(h.log.String(), "message_size_limit") {
		t.Errorf("too big a message: %v\n%s", err, h.log)
	}
}

func TestFromField(t *testing.T) {
	for _, c := range []struct{ name, sender, want string }{
		{"", "a@example.org", "<a@example.org>"},
		{"Alice Example", "a@example.org", "Alice Example <a@example.org>"},
		{"Example, Alice", "a@example.org", `"Example, Alice" <a@example.org>`},
		{`Al "the" \ one`, "a@example.org", `"Al \"the\" \\ one" <a@example.org>`},
		{"Zoë", "a@example.org", "=?utf-8?q?Zo=C3=AB?= <a@example.org>"},
		{"Evil\r\nBcc: x", "a@example.org", `"EvilBcc: x" <a@example.org>`},
		{"", "john doe@example.org", `<"john doe"@example.org>`},
	} {
		if got := fromField(c.name, c.sender); got != c.want {
			t.Errorf("fromField(%q, %q) = %q, want %q", c.name, c.sender, got, c.want)
		}
	}
}

func rcpts(addrs ...string) []maildrop.Recipient {
	var out []maildrop.Recipient
	for _, a := range addrs {
		out = append(out, maildrop.Recipient{Addr: a})
	}
	return out
}
