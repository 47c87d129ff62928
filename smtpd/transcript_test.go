package smtpd

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/testkit"

	"golang.org/x/tools/txtar"

	"postern.dev/postern/libmail/account"
	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/libmail/recipient"
)

// Golden SMTP dialogues. Each testdata/*.txtar file holds a "config"
// section (postern.toml lines applied to the test defaults) and a
// "dialogue" section; any other section but "queued" is a file written
// into the test's directory ("aliases" replaces the default one), which
// the config names as @TESTDIR@/NAME. The dialogue's lines are:
//
//	C: text     a command, sent with CRLF
//	D: text     a message line, sent with CRLF
//	X: "..."    raw bytes (a Go string literal)
//	S: text     an expected reply line
//	#           a comment
//
// Consecutive C/D/X lines are written in one go (pipelining, or hostile
// input), then the S lines that follow are read. Queue IDs in replies read
// as QUEUEID. To write a transcript, put "S: ?" where each reply is
// expected and run with UPDATE_GOLDEN=1, which replaces every "?" with the
// complete reply the server gave; then review the diff: the point is to
// read every reply once.
func TestTranscripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txtar")
	if len(files) == 0 {
		t.Fatal("no transcripts")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) { runTranscript(t, file) })
	}
}

var queueIDRE = regexp.MustCompile(`\b[0-9A-V]{16}\b`)

type step struct {
	kind byte // 'C', 'D', 'X', 'S'
	text string
}

func runTranscript(t *testing.T, file string) {
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cfgText, dialogue string
	var files []txtar.File
	for _, f := range ar.Files {
		switch f.Name {
		case "config":
			cfgText = string(f.Data)
		case "dialogue":
			dialogue = string(f.Data)
		case "queued":
		default:
			files = append(files, f)
		}
	}
	srv, spool := testServerFiles(t, cfgText, files)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		srv.Shutdown(ctx)
	})

	var steps []step
	for _, line := range strings.Split(strings.TrimRight(dialogue, "\n"), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		if len(line) < 2 || line[1] != ':' || !strings.Contains("CDXS", line[:1]) {
			t.Fatalf("bad line %q", line)
		}
		steps = append(steps, step{line[0], strings.TrimPrefix(line[2:], " ")})
	}

	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	update := os.Getenv("UPDATE_GOLDEN") != ""
	var out []string
	readReply := func() []string {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var lines []string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				if len(lines) == 0 {
					return []string{"(connection closed)"}
				}
				return lines
			}
			line = queueIDRE.ReplaceAllString(strings.TrimRight(line, "\r\n"), "QUEUEID")
			lines = append(lines, line)
			if len(line) < 4 || line[3] != '-' {
				return lines
			}
		}
	}
	for i := 0; i < len(steps); {
		var buf strings.Builder
		for ; i < len(steps) && steps[i].kind != 'S'; i++ {
			s := steps[i]
			switch s.kind {
			case 'C', 'D':
				buf.WriteString(s.text + "\r\n")
			case 'X':
				raw, err := strconv.Unquote(s.text)
				if err != nil {
					t.Fatalf("X line %q: %v", s.text, err)
				}
				buf.WriteString(raw)
			}
			out = append(out, string(s.kind)+": "+s.text)
		}
		if buf.Len() > 0 {
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte(buf.String()))
		}
		start := i
		for ; i < len(steps) && steps[i].kind == 'S'; i++ {
		}
		want := steps[start:i]
		var got []string
		if update {
			// A "?" stands for one whole reply, a written line for one
			// line of a reply.
			lines := 0
			for _, s := range want {
				if s.text == "?" {
					got = append(got, readReply()...)
				} else {
					lines++
				}
			}
			for n := len(got) + lines; len(got) < n; {
				got = append(got, readReply()...)
			}
		} else {
			for len(got) < len(want) {
				got = append(got, readReply()...)
			}
		}
		checkReplies(t, update, got, want, &out)
	}
	// Replies alone could line up by accident (a smuggled transaction
	// answers like a genuine one), so the queue is checked as well: the
	// subjects of the messages it holds, sorted.
	queued := queuedSubjects(t, spool)
	if update {
		hasQueued := false
		for j, f := range ar.Files {
			switch f.Name {
			case "dialogue":
				ar.Files[j].Data = []byte(strings.Join(out, "\n") + "\n")
			case "queued":
				ar.Files[j].Data, hasQueued = []byte(queued), true
			}
		}
		if !hasQueued {
			ar.Files = append(ar.Files, txtar.File{Name: "queued", Data: []byte(queued)})
		}
		if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range ar.Files {
		if f.Name == "queued" && !update && string(f.Data) != queued {
			t.Errorf("queued messages differ\n got:\n%swant:\n%s", queued, f.Data)
		}
	}
}

var subjectRE = regexp.MustCompile(`(?m)^Subject: ([^\r\n]*)\r?$`)

// queuedSubjects lists the Subject: of every message in the incoming
// queue, one per line, sorted.
func queuedSubjects(t *testing.T, spool *queue.Spool) string {
	t.Helper()
	ids, err := spool.List(queue.Incoming)
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, id := range ids {
		b, err := os.ReadFile(spool.Path(queue.Incoming, id))
		if err != nil {
			t.Fatal(err)
		}
		subject := "(no subject)"
		if m := subjectRE.FindSubmatch(b); m != nil {
			subject = string(m[1])
		}
		subjects = append(subjects, subject+"\n")
	}
	sort.Strings(subjects)
	return strings.Join(subjects, "")
}

func checkReplies(t *testing.T, update bool, got []string, want []step, out *[]string) {
	t.Helper()
	if update {
		for _, g := range got {
			*out = append(*out, "S: "+g)
		}
		return
	}
	var w []string
	for _, s := range want {
		w = append(w, s.text)
	}
	if strings.Join(got, "\n") != strings.Join(w, "\n") {
		t.Errorf("replies differ\n got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(w, "\n  "))
	}
}

// testServer builds an smtpd Server on a temporary spool with the sandbox's
// recipients: demo@example.test (an account) and postmaster (an alias).
func testServer(t testing.TB, cfgText string) (*Server, *queue.Spool) {
	t.Helper()
	return testServerFiles(t, cfgText, nil)
}

// testServerFiles is testServer with more files in its directory, which
// cfgText names as @TESTDIR@/NAME; "aliases" replaces the default one.
func testServerFiles(t testing.TB, cfgText string, files []txtar.File) (*Server, *queue.Spool) {
	t.Helper()
	dir := t.TempDir()
	testkit.MakeSpool(t, filepath.Join(dir, "spool"))
	hash, _ := account.Hash("demo")
	os.WriteFile(filepath.Join(dir, "accounts"), []byte("demo@example.test:"+hash+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "aliases"), []byte("postmaster: demo@example.test\n"), 0o600)
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.Data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfgText = strings.ReplaceAll(cfgText, "@TESTDIR@", dir)
	base := fmt.Sprintf("myhostname = \"mail.example.test\"\nmydestination = [\"example.test\", \"localhost\"]\n"+
		"queue_directory = %q\nalias_maps = [%q]\naccounts_file = %q\nlocal_system_users = false\n",
		filepath.Join(dir, "spool"), filepath.Join(dir, "aliases"), filepath.Join(dir, "accounts"))
	cfg, err := config.Parse([]byte(base+cfgText), "test.toml", config.Options{Hostname: "mail.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := NewConfig(&cfg.Params)
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 11, 23, 14, 32, 1, 0, time.UTC) }
	spool := queue.Open(filepath.Join(dir, "spool"), time.Now)
	t.Cleanup(func() { spool.Close() })
	log := maillog.ForWriter(&testLog{t}, "smtpd", "mail.example.test", now)
	if _, ok := t.(*testing.F); ok {
		// A fuzz target's server outlives the inputs it serves, and a
		// *testing.F must not be written to from them.
		log = maillog.Discard()
	}
	dirc := recipient.New(&cfg.Params, log, now)
	srv := NewServer(sc, spool, dirc, nopWaker{}, nil, log, now)
	// Limits count in memory, as anvil would; the loopback client is
	// exempt from them unless the configuration says otherwise.
	srv.UseLimiter(newFakeLimiter())
	return srv, spool
}

type nopWaker struct{}

func (nopWaker) Wake(queue.ID) {}

// testLog sends the mail log to the test's log.
type testLog struct{ t testing.TB }

func (l *testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
