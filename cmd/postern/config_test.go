package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"postern.dev/postern/libmail/config"
)

// TestConfigCheck: check says a valid file is valid, and names the file,
// line and key of a problem.
func TestConfigCheck(t *testing.T) {
	e := newTestEnv(t, "[services.submission]\nenabled = true\n")
	want := "postern: " + e.cfg + " is valid (9 services enabled)\n"
	if out := mustPostern(t, "-c", e.cfg, "config", "check"); out != want {
		t.Errorf("%q, want %q", out, want)
	}
	e.write(t, "postern.toml", "# comment\nmessage_size_limit = \"lots\"\n", 0o644)
	_, errs, code := postern("-c", e.cfg, "config", "check")
	if code != 1 || !strings.Contains(errs, e.cfg+":2") || !strings.Contains(errs, "message_size_limit") {
		t.Errorf("a bad value: exit %d, %q", code, errs)
	}
	if _, errs, code := postern("-c", e.cfg+".missing", "config", "check"); code != 1 || !strings.Contains(errs, "no such file") {
		t.Errorf("a missing file: exit %d, %q", code, errs)
	}
}

// TestConfigShow: show prints every effective parameter as TOML and the
// service table; -d the defaults, whatever the file says; -n only what
// differs from the defaults; names restrict the output to those
// parameters, in the order given.
func TestConfigShow(t *testing.T) {
	e := newTestEnv(t, "message_size_limit = 1234\n")
	def := config.Default(config.Options{})

	out := mustPostern(t, "-c", e.cfg, "config", "show")
	for _, w := range []string{"message_size_limit = 1234\n", "queue_directory = \"" + e.spool + "\"\n", "\n[services.smtp]\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("show lacks %q", w)
		}
	}
	if n := strings.Count(out, " = "); n < len(config.Table()) {
		t.Errorf("show printed %d settings, fewer than the %d parameters", n, len(config.Table()))
	}

	out = mustPostern(t, "-c", e.cfg, "config", "show", "-d", "message_size_limit", "queue_directory")
	if want := "message_size_limit = " + strconv.FormatInt(def.MessageSizeLimit, 10) + "\nqueue_directory = \"" + def.QueueDirectory + "\"\n"; out != want {
		t.Errorf("show -d: %q, want %q", out, want)
	}
	if _, _, code := postern("-c", e.cfg+".missing", "config", "show", "-d"); code != 0 {
		t.Errorf("show -d needs the file (exit %d)", code)
	}

	out = mustPostern(t, "-c", e.cfg, "config", "show", "-n")
	for _, w := range []string{"message_size_limit = 1234\n", "local_system_users = false\n", "myhostname = \"mail.example.test\"\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("show -n lacks %q:\n%s", w, out)
		}
	}
	for _, nw := range []string{"queue_run_delay", "[services"} {
		if strings.Contains(out, nw) {
			t.Errorf("show -n has %q, which did not change:\n%s", nw, out)
		}
	}
	if out := mustPostern(t, "-c", e.cfg, "config", "show", "-n", "queue_run_delay"); out != "" {
		t.Errorf("show -n of an unchanged parameter: %q", out)
	}

	out = mustPostern(t, "-c", e.cfg, "config", "show", "myhostname", "message_size_limit")
	if out != "myhostname = \"mail.example.test\"\nmessage_size_limit = 1234\n" {
		t.Errorf("show NAME NAME: %q", out)
	}
	if _, errs, code := postern("-c", e.cfg, "config", "show", "message_size_limt"); code != 1 || !strings.Contains(errs, `unknown parameter "message_size_limt"`) {
		t.Errorf("show of an unknown name: exit %d, %q", code, errs)
	}
}

// TestConfigSet: set edits the file in place, keeping its comments and
// its mode, says that a running system needs a reload, and refuses an
// edit that would leave the file invalid (the file stays as it was).
func TestConfigSet(t *testing.T) {
	e := newTestEnv(t, "# the size that fits our disks\nmessage_size_limit = 1234 # bytes\n\n[services.smtp]\n# port 25 only\nlisten = [\":25\"]\n")
	if err := os.Chmod(e.cfg, 0o640); err != nil {
		t.Fatal(err)
	}
	out := mustPostern(t, "-c", e.cfg, "config", "set", "message_size_limit=2000", "smtpd_timeout = 30s")
	if want := "postern: " + e.cfg + " updated; run \"postern reload\" to make a running mail system use it\n"; out != want {
		t.Errorf("%q, want %q", out, want)
	}
	b, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, w := range []string{"# postern.toml for a test\n", "# the size that fits our disks\nmessage_size_limit = 2000\n", "# port 25 only\n"} {
		if !strings.Contains(text, w) {
			t.Errorf("the edited file lacks %q:\n%s", w, text)
		}
	}
	c, err := config.Load(e.cfg, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.MessageSizeLimit != 2000 || c.SMTPDTimeout.D().Seconds() != 30 {
		t.Errorf("after set: message_size_limit %d, smtpd_timeout %v", c.MessageSizeLimit, c.SMTPDTimeout)
	}
	if st, err := os.Stat(e.cfg); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("the file's mode: %v %v, want 0640 kept", st, err)
	}

	for _, tc := range []struct {
		kv, want string
	}{
		{"message_size_limit=lots", "message_size_limit"},
		{"mesage_size_limit=5", `unknown parameter "mesage_size_limit"`},
		{"mail_owner=root", "mail_owner"},
	} {
		_, errs, code := postern("-c", e.cfg, "config", "set", "myhostname=other.example.test", tc.kv)
		if code != 1 || !strings.Contains(errs, tc.want) {
			t.Errorf("set %s: exit %d, %q; want 1 and %q", tc.kv, code, errs, tc.want)
		}
		if after, _ := os.ReadFile(e.cfg); string(after) != text {
			t.Errorf("set %s changed the file:\n%s", tc.kv, after)
		}
	}
	if left, _ := filepath.Glob(e.cfg + ".*"); len(left) != 0 {
		t.Errorf("set left %v behind", left)
	}

	// A file that does not exist yet is made.
	fresh := filepath.Join(e.dir, "fresh.toml")
	mustPostern(t, "-c", fresh, "config", "set", "myhostname=new.example.test")
	if c, err := config.Load(fresh, config.Options{}); err != nil || c.MyHostname != "new.example.test" {
		t.Errorf("set on a new file: %v", err)
	}
}
