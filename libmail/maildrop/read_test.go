package maildrop

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func submit(t *testing.T, dir, msg string) string {
	t.Helper()
	f, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteEnvelope(f, &Envelope{Recipients: []Recipient{{Addr: "bob"}}}); err != nil {
		t.Fatal(err)
	}
	f.Write([]byte(msg))
	name, err := f.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return name
}

func TestCreateCommitOpen(t *testing.T) {
	dir := t.TempDir()
	name := submit(t, dir, "Subject: x\n\nhello\n")
	if !IsName(name) {
		t.Fatalf("name %q", name)
	}
	st, err := os.Stat(filepath.Join(dir, name))
	if err != nil || st.Mode().Perm() != FileMode {
		t.Fatalf("stat %v %v", st, err)
	}
	s, err := Open(dir, name, 1000)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.UID != os.Getuid() || s.Envelope.Recipients[0].Addr != "bob" {
		t.Errorf("submission %+v", s)
	}
	if b, _ := io.ReadAll(s.Message); string(b) != "Subject: x\n\nhello\n" {
		t.Errorf("message %q", b)
	}
	// The message reader stops one byte past the limit.
	s2, _ := Open(dir, name, 5)
	defer s2.Close()
	if b, _ := io.ReadAll(s2.Message); len(b) != 6 {
		t.Errorf("limited read %d bytes", len(b))
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	f, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	f.Abort()
	if names, _ := os.ReadDir(dir); len(names) != 0 {
		t.Errorf("left %v", names)
	}
}

func TestOpenRefusesHostileEntries(t *testing.T) {
	dir := t.TempDir()
	good := submit(t, dir, "x\n")
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte(Magic+"\nrcpt \"a\"\n\nsecret\n"), 0o600)

	link := strings.Repeat("1", 32)
	os.Symlink(secret, filepath.Join(dir, link))
	fifo := strings.Repeat("2", 32)
	syscall.Mkfifo(filepath.Join(dir, fifo), 0o644)
	hard := strings.Repeat("3", 32)
	os.Link(filepath.Join(dir, good), filepath.Join(dir, hard))
	sub := strings.Repeat("4", 32)
	os.Mkdir(filepath.Join(dir, sub), 0o755)
	for _, n := range []string{link, fifo, hard, sub} {
		done := make(chan error, 1)
		go func() { _, err := Open(dir, n, 1000); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrUnsafe) {
				t.Errorf("%s: got %v, want ErrUnsafe", n, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: Open blocked", n)
		}
	}
	if _, err := Open(dir, "../etc/passwd", 10); !errors.Is(err, ErrFormat) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := Open(dir, strings.Repeat("5", 32), 10); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}

func TestEntries(t *testing.T) {
	dir := t.TempDir()
	good := submit(t, dir, "x\n")
	f, _ := Create(dir) // being written
	defer f.Abort()
	old := tmpPrefix + strings.Repeat("a", 32)
	os.WriteFile(filepath.Join(dir, old), nil, 0o644)
	past := time.Now().Add(-48 * time.Hour)
	os.Chtimes(filepath.Join(dir, old), past, past)
	os.WriteFile(filepath.Join(dir, "junk"), nil, 0o644)
	subs, stale, other, err := Entries(dir, time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 1 || subs[0] != good || len(stale) != 1 || stale[0] != old || len(other) != 1 || other[0] != "junk" {
		t.Errorf("subs %v stale %v other %v", subs, stale, other)
	}
}
