package imapd

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/txtar"

	"postern.dev/postern/libmail/mailbox"
)

var update = os.Getenv("UPDATE_GOLDEN") == "1"

var clock = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func now() time.Time { return clock }

// client is one test session on a pipe.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	idle string // tag of a running IDLE
	done chan error
}

func startSession(t *testing.T, store mailbox.Store) (*client, string) {
	return startSessionWith(t, store, Config{Now: now})
}

func startSessionWith(t *testing.T, store mailbox.Store, cfg Config) (*client, string) {
	a, b := net.Pipe()
	c := &client{t: t, conn: a, r: bufio.NewReader(a), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, err := Serve(ctx, b, store, "a0", cfg)
		b.Close()
		c.done <- err
	}()
	t.Cleanup(func() {
		cancel()
		a.Close()
		<-c.done
	})
	a.SetDeadline(time.Now().Add(10 * time.Second))
	return c, c.until("a0")
}

// line reads one response line, with its literals inline.
var literalEnd = regexp.MustCompile(`~?\{(\d+)\}$`)

func (c *client) line() string {
	var b strings.Builder
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read: %v (%q)", err, b.String()+l)
		}
		l = strings.TrimSuffix(l, "\r\n")
		b.WriteString(l)
		m := literalEnd.FindStringSubmatch(l)
		if m == nil {
			return b.String()
		}
		n, _ := strconv.Atoi(m[1])
		lit := make([]byte, n)
		if _, err := io.ReadFull(c.r, lit); err != nil {
			c.t.Fatal(err)
		}
		b.WriteString("\n" + strings.ReplaceAll(string(lit), "\r\n", "\n") + "\n")
	}
}

// until reads responses up to the tagged one for tag (or a
// continuation request), as transcript lines.
func (c *client) until(tag string) string {
	var out strings.Builder
	for {
		l := c.line()
		out.WriteString("S: " + l + "\n")
		if strings.HasPrefix(l, tag+" ") || strings.HasPrefix(l, "+ ") {
			return out.String()
		}
	}
}

func (c *client) send(s string) {
	if _, err := io.WriteString(c.conn, s); err != nil {
		c.t.Fatalf("%v sending %q", err, s)
	}
}

// run plays a script: one command a line, "2> " sends it on a second
// session, "{@name}" is the txtar file name sent as a LITERAL+. Files
// under inbox/ are in INBOX at the start; "quota" is the account's
// storage limit in bytes (1 MiB if not given).
func run(t *testing.T, a *txtar.Archive) string {
	limit := int64(1 << 20)
	for _, f := range a.Files {
		if f.Name == "quota" {
			limit, _ = strconv.ParseInt(strings.TrimSpace(string(f.Data)), 10, 64)
		}
	}
	store := mailbox.NewMemory(now, limit)
	files := map[string][]byte{}
	var script []byte
	for _, f := range a.Files {
		files[f.Name] = bytes.ReplaceAll(f.Data, []byte("\n"), []byte("\r\n"))
		if f.Name == "script" {
			script = f.Data
		}
		if dir, _ := filepath.Split(f.Name); dir == "inbox/" {
			if _, err := store.Append(context.Background(), "INBOX", nil, clock, bytes.NewReader(f.Data)); err != nil {
				t.Fatal(err)
			}
		}
	}
	var out strings.Builder
	sessions := map[string]*client{}
	get := func(id string) *client {
		if c := sessions[id]; c != nil {
			return c
		}
		c, greet := startSession(t, store)
		out.WriteString(strings.ReplaceAll(greet, "S: ", "S"+id+": "))
		sessions[id] = c
		return c
	}
	lit := regexp.MustCompile(`\{@([^}]+)\}`)
	for _, l := range strings.Split(strings.TrimSpace(string(script)), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		id := "1"
		if strings.HasPrefix(l, "2> ") {
			id, l = "2", l[3:]
		}
		c := get(id)
		out.WriteString("C" + id + ": " + l + "\n")
		if os.Getenv("DEBUG") != "" {
			t.Log(l)
		}
		wire := lit.ReplaceAllStringFunc(l, func(m string) string {
			d := files[m[2:len(m)-1]]
			return fmt.Sprintf("{%d+}\r\n%s", len(d), d)
		})
		c.send(wire + "\r\n")
		tag := strings.Fields(l)[0]
		if l == "DONE" {
			tag, c.idle = c.idle, ""
		} else if strings.HasSuffix(strings.ToUpper(l), " IDLE") {
			c.idle = tag
		}
		out.WriteString(strings.ReplaceAll(c.until(tag), "S: ", "S"+id+": "))
	}
	return out.String()
}

// TestTranscripts plays testdata/*.txtar's scripts against the
// in-memory store and compares the dialogue with their "transcript"
// section; UPDATE_GOLDEN=1 rewrites it.
func TestTranscripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txtar")
	if len(files) == 0 {
		t.Fatal("no transcripts")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			a, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := run(t, a)
			i := len(a.Files) - 1
			if a.Files[i].Name != "transcript" {
				a.Files = append(a.Files, txtar.File{Name: "transcript"})
				i++
			}
			if update {
				a.Files[i].Data = []byte(got)
				if err := os.WriteFile(file, txtar.Format(a), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != string(a.Files[i].Data) {
				t.Errorf("transcript differs; got\n%s", got)
			}
		})
	}
}
