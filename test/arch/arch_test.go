// Package arch holds the tests that keep the tree in the shape
// docs/architecture.md describes: one package per process, libmail only
// for what processes share, and privileges handled in one place. They
// read the module with `go list` and the sources with go/parser, so they
// need nothing but the Go tool.
package arch

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const module = "postern.dev/postern"

// pkg is what `go list -json` says of one package.
type pkg struct {
	ImportPath   string
	Dir          string
	Name         string
	GoFiles      []string
	Imports      []string
	TestImports  []string
	XTestImports []string
	Deps         []string
}

// rel is the package's path inside the module ("smtp/dane").
func (p *pkg) rel() string { return strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/") }

// top is the first element of the package's path: the process a package
// belongs to ("smtp" for smtp/dane), or cmd, libmail, test.
func (p *pkg) top() string { t, _, _ := strings.Cut(p.rel(), "/"); return t }

// notDaemons are the top-level directories that are not processes.
var notDaemons = map[string]bool{"cmd": true, "libmail": true, "test": true}

func (p *pkg) isDaemon() bool { return !notDaemons[p.top()] }

// listPackages runs `go list -json` over the module once per test binary.
func listPackages(t *testing.T) []*pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "-deps=false", module+"/...")
	cmd.Dir = moduleRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []*pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, &p)
	}
	return pkgs
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("module root not at %s: %v", dir, err)
	}
	return dir
}

// internal returns the module packages that p imports, its tests included.
func internal(p *pkg) []string {
	var out []string
	for _, lists := range [][]string{p.Imports, p.TestImports, p.XTestImports} {
		for _, imp := range lists {
			if strings.HasPrefix(imp, module+"/") {
				out = append(out, strings.TrimPrefix(imp, module+"/"))
			}
		}
	}
	return out
}

func topOf(rel string) string { t, _, _ := strings.Cut(rel, "/"); return t }

// TestNoDaemonImportsAnother: a daemon package (and its sub-packages)
// imports no other daemon's; what two daemons share lives in libmail.
// libmail imports no daemon. The thin mains in cmd/ import their own.
func TestNoDaemonImportsAnother(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, imp := range internal(p) {
			it := topOf(imp)
			if notDaemons[it] {
				continue
			}
			switch {
			case p.top() == "libmail":
				t.Errorf("%s imports the daemon package %s: libmail must not depend on a process", p.rel(), imp)
			case p.isDaemon() && it != p.top():
				t.Errorf("%s imports %s, another daemon's package: move what they share into libmail", p.rel(), imp)
			}
		}
	}
}

// privileged names the identifiers only master and libmail/daemon may
// use: process credentials, capabilities, chroot, and descriptors passed
// to another process (ExtraFiles, SCM_RIGHTS). Selectors are matched by
// name, so `cmd.SysProcAttr` and `syscall.SysProcAttr{}` are both found.
var privileged = map[string]bool{
	"SysProcAttr": true, "Credential": true, "ExtraFiles": true, "AmbientCaps": true,
	"Setuid": true, "Setgid": true, "Setgroups": true, "Setreuid": true, "Setregid": true,
	"Setresuid": true, "Setresgid": true, "Setfsuid": true, "Setfsgid": true,
	"SetfsuidRetUid": true, "SetfsgidRetGid": true, "Seteuid": true, "Setegid": true,
	"Capset": true, "PR_CAP_AMBIENT": true, "PR_CAPBSET_DROP": true, "Chroot": true,
	"UnixRights": true, "ParseUnixRights": true, "SCM_RIGHTS": true,
}

// mayUsePrivileges are the packages that do it for everyone else.
var mayUsePrivileges = map[string]bool{"master": true, "libmail/daemon": true}

// TestPrivilegesStayInOnePlace: outside master and libmail/daemon, no
// non-test code touches credentials, capabilities, chroot or descriptor
// passing; daemons ask libmail/daemon (CommandAs, AsUser, Detached).
func TestPrivilegesStayInOnePlace(t *testing.T) {
	for _, p := range listPackages(t) {
		if mayUsePrivileges[p.rel()] {
			continue
		}
		for _, name := range p.GoFiles {
			path := filepath.Join(p.Dir, name)
			for _, found := range privilegedUses(t, path) {
				t.Errorf("%s: uses %s; only master and libmail/daemon may (add what you need there)", found.pos, found.name)
			}
		}
	}
}

type use struct{ pos, name string }

func privilegedUses(t *testing.T, path string) []use {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var out []use
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok && privileged[sel.Sel.Name] {
			out = append(out, use{fset.Position(sel.Pos()).String(), sel.Sel.Name})
		}
		if kv, ok := n.(*ast.KeyValueExpr); ok {
			if id, ok := kv.Key.(*ast.Ident); ok && privileged[id.Name] {
				out = append(out, use{fset.Position(kv.Pos()).String(), id.Name})
			}
		}
		return true
	})
	return out
}

// reasonHeading is the doc heading under which a libmail package that
// fewer than two programs use says why it is in libmail all the same
// (a process that comes later will share it; it serves tests only).
const reasonHeading = "# Why in libmail"

// TestLibmailIsShared: libmail is for what several processes share. A
// package that fewer than two programs in cmd/ depend on says why it is
// there under the heading "# Why in libmail" in its doc.go.
func TestLibmailIsShared(t *testing.T) {
	pkgs := listPackages(t)
	users := map[string][]string{}
	for _, p := range pkgs {
		if p.top() != "cmd" || p.Name != "main" {
			continue
		}
		prog := filepath.Base(p.rel())
		cmd := exec.Command("go", "list", "-deps", p.ImportPath)
		cmd.Dir = moduleRoot(t)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", p.ImportPath, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, module+"/libmail/") {
				rel := strings.TrimPrefix(dep, module+"/")
				users[rel] = append(users[rel], prog)
			}
		}
	}
	for _, p := range pkgs {
		if p.top() != "libmail" || len(users[p.rel()]) >= 2 {
			continue
		}
		doc, err := os.ReadFile(filepath.Join(p.Dir, "doc.go"))
		if err != nil || !bytes.Contains(doc, []byte("// "+reasonHeading+"\n")) {
			progs := users[p.rel()]
			sort.Strings(progs)
			t.Errorf("%s is used by %d program(s) %v; share it, move it into its process, or say why it is in libmail under %q in its doc.go",
				p.rel(), len(progs), progs, reasonHeading)
		}
	}
}
