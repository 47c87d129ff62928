package pop3d

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/txtar"

	"postern.dev/postern/libmail/mailbox"
)

// Golden POP3 sessions. Each testdata/*.txtar holds the maildrop as
// sections msg1, msg2, ... (delivered in that order, LF or CRLF), an
// "input" section (the client's lines, sent at once: POP3 pipelining),
// and an "output" section, the server's whole answer with CRLF shown as
// LF. Optional "after" lists the UIDs left in INBOX after the session, and
// "second" is the input of a second session whose output is
// "second-output". UPDATE_GOLDEN=1 rewrites the outputs; review the diff.
func TestTranscripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txtar")
	if len(files) == 0 {
		t.Fatal("no transcripts")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) { runTranscript(t, file) })
	}
}

func runTranscript(t *testing.T, file string) {
	ar, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]string{}
	for _, f := range ar.Files {
		sections[f.Name] = string(f.Data)
	}
	now := time.Unix(1795000000, 0)
	store := mailbox.NewMemory(func() time.Time { return now }, 0)
	for i := 1; sections["msg"+itoa(i)] != ""; i++ {
		store.Deliver([]byte(sections["msg"+itoa(i)]))
	}
	changed := false
	for _, pass := range []string{"", "second-"} {
		inName := "input"
		if pass != "" {
			inName = "second"
		}
		in, ok := sections[inName]
		if !ok {
			continue
		}
		got := runSession(t, store, strings.ReplaceAll(in, "\n", "\r\n"))
		got = strings.ReplaceAll(got, "\r\n", "\n")
		outName := pass + "output"
		if os.Getenv("UPDATE_GOLDEN") != "" {
			setSection(ar, outName, got)
			changed = true
		} else if got != sections[outName] {
			t.Errorf("%s differs:\n--- got\n%s--- want\n%s", outName, got, sections[outName])
		}
	}
	if want, ok := sections["after"]; ok {
		f, err := store.Select(context.Background(), "INBOX", true)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, m := range f.Messages() {
			b.WriteString(itoa(int(m.UID)) + " " + strings.Join(m.Flags, " ") + "\n")
		}
		if os.Getenv("UPDATE_GOLDEN") != "" {
			setSection(ar, "after", b.String())
		} else if b.String() != want {
			t.Errorf("INBOX after the session:\n%s want\n%s", b.String(), want)
		}
	}
	if changed {
		if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func setSection(ar *txtar.Archive, name, data string) {
	for i := range ar.Files {
		if ar.Files[i].Name == name {
			ar.Files[i].Data = []byte(data)
			return
		}
	}
	ar.Files = append(ar.Files, txtar.File{Name: name, Data: []byte(data)})
}

func itoa(i int) string { return strconv.Itoa(i) }

// runSession runs Serve on input (ending in EOF, as a client that goes)
// and returns all it wrote.
func runSession(t *testing.T, store mailbox.Store, input string) string {
	t.Helper()
	var out bytes.Buffer
	conn := struct {
		io.Reader
		io.Writer
	}{strings.NewReader(input), &out}
	if _, err := Serve(context.Background(), conn, store, Options{}); err != nil {
		t.Logf("Serve: %v", err)
	}
	return out.String()
}
