package arch

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"postern.dev/postern/libmail/config"
)

// daemonHeadings are the Go doc headings every daemon package's doc.go
// has, as STYLE.md asks: its role, who it runs as, what it talks to, and
// its files.
var daemonHeadings = []string{"# Role", "# Runs as", "# Talks to", "# Files"}

// TestDaemonDocs: every daemon package opens with a doc.go that says, under
// those headings, what the process is.
func TestDaemonDocs(t *testing.T) {
	for _, p := range listPackages(t) {
		if !p.isDaemon() || strings.Contains(p.rel(), "/") {
			continue
		}
		doc, err := os.ReadFile(filepath.Join(p.Dir, "doc.go"))
		if err != nil {
			t.Errorf("%s has no doc.go: %v", p.rel(), err)
			continue
		}
		for _, h := range daemonHeadings {
			if !strings.Contains(string(doc), "// "+h+"\n") {
				t.Errorf("%s/doc.go lacks the heading %q", p.rel(), h)
			}
		}
	}
}

// TestEveryProgramHasAManPage: each binary in cmd/ has a manual page,
// section 8 for daemons and 1 for commands, named after the program.
func TestEveryProgramHasAManPage(t *testing.T) {
	root := moduleRoot(t)
	progs, err := filepath.Glob(filepath.Join(root, "cmd", "*"))
	if err != nil || len(progs) == 0 {
		t.Fatalf("no programs in cmd/: %v", err)
	}
	for _, dir := range progs {
		name := filepath.Base(dir)
		found := false
		for _, sec := range []string{"1", "8"} {
			if _, err := os.Stat(filepath.Join(root, "man", "man"+sec, name+"."+sec)); err == nil {
				found = true
			}
		}
		if !found {
			t.Errorf("cmd/%s has no manual page man/man1/%s.1 or man/man8/%s.8", name, name, name)
		}
	}
}

// TestEveryParameterDocumented: every parameter of the table is in the
// shipped configuration and in postern.toml(5). (The generate test in
// libmail/config proves both files are what the table makes today; this
// one says so in terms of what an admin reads.)
func TestEveryParameterDocumented(t *testing.T) {
	root := moduleRoot(t)
	shipped, err := os.ReadFile(filepath.Join(root, "conf", "postern.toml"))
	if err != nil {
		t.Fatal(err)
	}
	man, err := os.ReadFile(filepath.Join(root, "man", "man5", "postern.toml.5"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range config.Table() {
		inShipped := regexp.MustCompile(`(?m)^#? ?` + regexp.QuoteMeta(p.Name) + ` = `)
		if !inShipped.Match(shipped) {
			t.Errorf("parameter %s is not in conf/postern.toml (make generate)", p.Name)
		}
		inMan := regexp.MustCompile(`(?m)^\.It Va ` + regexp.QuoteMeta(p.Name) + `\b`)
		if !inMan.Match(man) {
			t.Errorf("parameter %s is not in man/man5/postern.toml.5 (make generate)", p.Name)
		}
	}
}
