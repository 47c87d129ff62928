package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/version"
)

// TestUsage: postern alone is a usage error; -h and --help print the
// list of commands on standard output and succeed; an unknown command or
// flag is a usage error (exit 2, the usage on standard error).
func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}} {
		out, errs, code := postern(args...)
		if code != 0 || errs != "" || !strings.HasPrefix(out, "usage: postern [-c FILE] COMMAND [ARGS]\n") {
			t.Errorf("postern %s: exit %d, %q %q", args[0], code, out, errs)
		}
		for _, c := range commands() {
			if !strings.Contains(out, "\n  "+c.name+" ") {
				t.Errorf("the usage does not list %s:\n%s", c.name, out)
			}
		}
	}
	for _, args := range [][]string{{}, {"-x"}, {"bogus"}, {"-c"}} {
		out, errs, code := postern(args...)
		if code != 2 || out != "" || !strings.Contains(errs, "usage: postern [-c FILE] COMMAND [ARGS]\n") {
			t.Errorf("postern %q: exit %d, %q %q", args, code, out, errs)
		}
	}
	if _, errs, _ := postern("bogus"); !strings.HasPrefix(errs, "postern: unknown command \"bogus\"\n") {
		t.Errorf("unknown command: %q", errs)
	}
}

// TestSubcommandHelp: every subcommand's -h and --help prints its usage
// on standard output and succeeds without acting: it neither reads the
// configuration (there is none here) nor talks to the master (which
// records every request).
func TestSubcommandHelp(t *testing.T) {
	e := newTestEnv(t, "")
	fm := startFakeMaster(t, e.spool)
	frames := fakeQmgr(t, e.spool)
	sandbox := filepath.Join(e.dir, "sandbox")
	missing := filepath.Join(e.dir, "missing.toml")
	for _, args := range [][]string{
		{"start"}, {"stop"}, {"reload"}, {"status"}, {"check"}, {"flush"}, {"flush", "-s", "example.org"},
		{"config"}, {"config", "check"}, {"config", "show"}, {"config", "show", "-n"}, {"config", "set"},
		{"config", "set", "myhostname=x"}, {"dkim"}, {"dkim", "keygen"}, {"dkim", "keygen", "example.test", "s1"}, {"sandbox"}, {"sandbox", sandbox}, {"version"},
		{"user"}, {"user", "add"}, {"user", "add", "new@example.test"}, {"user", "passwd", "demo@example.test"},
		{"user", "del", "demo@example.test"}, {"user", "list"},
		{"dns"}, {"dns", "check"}, {"dns", "check", "example.test"}, {"log"}, {"log", "1J0UG6A000000BNC"}, {"log", "-f", "1J0UG6A000000BNC"},
	} {
		for _, h := range []string{"-h", "--help"} {
			// The running master's configuration, then a missing one: if a
			// command read either, it would act or fail.
			for _, cfg := range []string{e.cfg, missing} {
				argv := append(append([]string{"-c", cfg}, args...), h)
				out, errs, code := postern(argv...)
				name := args[0]
				if (name == "config" || name == "user") && len(args) > 1 && !strings.HasPrefix(args[1], "-") {
					name += " " + args[1]
				}
				if code != 0 || errs != "" || !strings.HasPrefix(out, "usage: postern "+name+" ") || !strings.Contains(out, "\nflags:\n") {
					t.Errorf("postern %s: exit %d, %q %q", strings.Join(argv, " "), code, out, errs)
				}
			}
		}
	}
	if got := fm.got(); len(got) != 0 {
		t.Errorf("help requests reached the master: %v", got)
	}
	select {
	case f := <-frames:
		t.Errorf("a help request reached qmgr: %+v", f)
	case <-time.After(50 * time.Millisecond):
	}
	if _, err := os.Stat(sandbox); !os.IsNotExist(err) {
		t.Errorf("sandbox -h made %s: %v", sandbox, err)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("config set -h made %s: %v", missing, err)
	}
}

// TestUsageErrors: an unknown flag, an argument a command does not take,
// or a malformed one exits 2 with the command's usage on standard error,
// and does nothing.
func TestUsageErrors(t *testing.T) {
	e := newTestEnv(t, "")
	fm := startFakeMaster(t, e.spool)
	for _, args := range [][]string{
		{"start", "now"}, {"stop", "-x"}, {"stop", "now"}, {"reload", "-q"}, {"reload", "all"}, {"status", "-v"},
		{"status", "all"}, {"check", "all"}, {"flush", "-z"}, {"flush", "now"}, {"flush", "-s", "bad site"}, {"flush", "-s", ""},
		{"config"}, {"config", "bogus"}, {"config", "check", "extra"}, {"config", "show", "-x"},
		{"config", "set"}, {"config", "set", "novalue"}, {"sandbox"}, {"sandbox", "a", "b"},
		{"sandbox", "-port-base", "0", "dir"}, {"sandbox", "-port-base", "65000", "dir"}, {"sandbox", "-port-base", "x", "dir"},
		{"version", "extra"}, {"version", "-v"},
		{"dns"}, {"dns", "bogus"}, {"dns", "check"}, {"dns", "check", "a@b"}, {"log"}, {"log", "bad"},
	} {
		out, errs, code := postern(append([]string{"-c", e.cfg}, args...)...)
		name := "postern " + args[0]
		if code != 2 || out != "" || !strings.HasPrefix(errs, name+": ") || !strings.Contains(errs, "\nusage: "+name) {
			t.Errorf("postern %s: exit %d, %q %q; want 2 and the usage", strings.Join(args, " "), code, out, errs)
		}
	}
	if got := fm.got(); len(got) != 0 {
		t.Errorf("usage errors reached the master: %v", got)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "dir")); !os.IsNotExist(err) {
		t.Errorf("a sandbox usage error made a sandbox: %v", err)
	}
}

// TestVersion: version prints the build's version.
func TestVersion(t *testing.T) {
	if out := mustPostern(t, "version"); out != "postern "+version.Version+"\n" {
		t.Errorf("%q", out)
	}
}

// TestConfigFlagAnywhere: -c may come before the command, after it, or
// between config and its subcommand, and the last one counts.
func TestConfigFlagAnywhere(t *testing.T) {
	e := newTestEnv(t, "")
	want := "postern: " + e.cfg + " is valid (8 services enabled)\n"
	for _, args := range [][]string{
		{"-c", e.cfg, "config", "check"},
		{"config", "-c", e.cfg, "check"},
		{"config", "-c=" + e.cfg, "check"},
		{"config", "check", "-c", e.cfg},
		{"-c", "/nonexistent", "config", "check", "-c", e.cfg},
	} {
		if out, errs, code := postern(args...); code != 0 || out != want {
			t.Errorf("postern %s: exit %d, %q %q; want %q", strings.Join(args, " "), code, out, errs, want)
		}
	}
}
