package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postern.dev/postern/libmail/daemon"
)

// checkEnv is a testEnv whose enabled services all have their programs.
func checkEnv(t *testing.T, extra string) *testEnv {
	t.Helper()
	if os.Geteuid() == 0 {
		// check looks up mail_owner, vmail_user and default_privs.
		for _, u := range []string{"postern", "vmail", "nobody"} {
			if _, err := daemon.LookupUser(u); err != nil {
				t.Skipf("as root, needs the user %s: %v", u, err)
			}
		}
	}
	e := newTestEnv(t, extra)
	for _, p := range []string{"smtpd", "postscreen", "qmgr", "local", "smtp", "anvil", "showq", "pickup"} {
		e.write(t, "bin/"+p, "#!/bin/sh\n", 0o755)
	}
	ownSpoolDir(t, e, "public")
	return e
}

// ownSpoolDir gives a queue directory to mail_owner, as the master
// does, when the test runs as root.
func ownSpoolDir(t *testing.T, e *testEnv, name string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	u, err := daemon.LookupUser("postern")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(e.spool, name), u.UID, u.GID); err != nil {
		t.Fatal(err)
	}
}

// check runs postern check and returns its warnings and exit status.
func check(t *testing.T, e *testEnv) (warnings []string, out string, code int) {
	t.Helper()
	out, errs, code := postern("-c", e.cfg, "check")
	for _, l := range strings.Split(strings.TrimSuffix(errs, "\n"), "\n") {
		if w, ok := strings.CutPrefix(l, "postern: warning: "); ok {
			warnings = append(warnings, w)
		} else if l != "" && !strings.HasSuffix(l, "problem(s) found") {
			t.Errorf("check printed %q", l)
		}
	}
	return warnings, out, code
}

// TestCheckClean: a sound configuration passes.
func TestCheckClean(t *testing.T) {
	e := checkEnv(t, "")
	warnings, out, code := check(t, e)
	if code != 0 || len(warnings) > 0 || out != "postern: "+e.cfg+": no problems found\n" {
		t.Errorf("exit %d, %q, warnings %q", code, out, warnings)
	}
}

// TestCheckProblems: each problem check knows of is one warning, and
// any makes the exit status 1.
func TestCheckProblems(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra string                         // configuration lines
		setup func(t *testing.T, e *testEnv) // breaks something
		want  string                         // the warning, $DIR for the environment's directory
	}{
		{name: "accounts readable by all",
			setup: func(t *testing.T, e *testEnv) { os.Chmod(filepath.Join(e.dir, "accounts"), 0o644) },
			want:  "$DIR/accounts is readable by every user (mode 644); make it 0600, or 0640 to the group that must read it"},
		{name: "TLS key readable by all",
			extra: "[services.smtp.overrides]\nsmtpd_tls_cert_file = \"$DIR/tls/cert.pem\"\nsmtpd_tls_key_file = \"$DIR/tls/key.pem\"\n",
			setup: func(t *testing.T, e *testEnv) {
				needSandboxUsers(t) // writeCert, as root, gives the key to the group postern
				if err := os.Mkdir(filepath.Join(e.dir, "tls"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := writeCert(filepath.Join(e.dir, "tls")); err != nil {
					t.Fatal(err)
				}
				os.Chmod(filepath.Join(e.dir, "tls", "key.pem"), 0o644)
			},
			want: "$DIR/tls/key.pem is readable by every user (mode 644); make it 0600, or 0640 to the group that must read it"},
		{name: "TLS certificate missing",
			extra: "[services.smtp.overrides]\nsmtpd_tls_cert_file = \"$DIR/cert.pem\"\nsmtpd_tls_key_file = \"$DIR/key.pem\"\n",
			want:  "service smtpd: TLS certificate: open $DIR/cert.pem: no such file or directory"},
		{name: "TLS certificate missing, set for every service",
			extra: "smtpd_tls_cert_file = \"$DIR/cert.pem\"\nsmtpd_tls_key_file = \"$DIR/key.pem\"\n",
			want:  "service smtpd: TLS certificate: open $DIR/cert.pem: no such file or directory"},
		{name: "DKIM key missing",
			extra: "dkim_signing_keys = [\"example.test s1 $DIR/dkim/example.test.s1.key\"]\n",
			want:  "service smtpd: dkim key for example.test (selector s1): open $DIR/dkim/example.test.s1.key: no such file or directory"},
		{name: "DKIM key readable by all",
			extra: "dkim_signing_keys = [\"example.test ed2026 $DIR/dkim/example.test.ed2026.key\"]\n",
			setup: func(t *testing.T, e *testEnv) {
				needSandboxUsers(t) // keygen, as root, gives the key to postern
				mustPostern(t, "-c", e.cfg, "dkim", "keygen", "-t", "ed25519", "example.test", "ed2026")
				os.Chmod(filepath.Join(e.dir, "dkim", "example.test.ed2026.key"), 0o644)
			},
			want: "$DIR/dkim/example.test.ed2026.key is readable by every user (mode 644); make it 0600, or 0640 to the group that must read it"},
		{name: "program missing",
			setup: func(t *testing.T, e *testEnv) { os.Remove(filepath.Join(e.bin, "qmgr")) },
			want:  "service qmgr: program $DIR/bin/qmgr is missing or not executable"},
		{name: "program not executable",
			setup: func(t *testing.T, e *testEnv) { os.Chmod(filepath.Join(e.bin, "local"), 0o644) },
			want:  "service local: program $DIR/bin/local is missing or not executable"},
		{name: "myhostname not local",
			setup: func(t *testing.T, e *testEnv) {
				b, _ := os.ReadFile(e.cfg)
				os.WriteFile(e.cfg, []byte(strings.Replace(string(b), `"$myhostname", `, "", 1)), 0o644)
			},
			want: "myhostname mail.example.test is not in mydestination: mail to postmaster@mail.example.test, double bounces among it, leaves this host"},
		{name: "nobody reads the postmaster's mail",
			setup: func(t *testing.T, e *testEnv) { e.write(t, "aliases", "abuse: demo@example.test\n", 0o644) },
			want:  "postmaster@mail.example.test reaches nobody: add \"postmaster: someone\" to the aliases file"},
		{name: "aliases file broken",
			setup: func(t *testing.T, e *testEnv) {
				e.write(t, "aliases", "postmaster: demo@example.test\nno colon here\n", 0o644)
			},
			want: "$DIR/aliases:2: "},
		{name: "accounts file broken",
			setup: func(t *testing.T, e *testEnv) {
				e.write(t, "accounts", "demo@example.test:{PLAIN}demo\nb@example.test:{MD5-CRYPT}x\n", 0o600)
			},
			want: "$DIR/accounts:2: "},
		{name: "relay credentials readable by all", extra: saslParams,
			setup: func(t *testing.T, e *testEnv) { writePasswords(t, e, "[relay.example.com]:587 u:p\n", 0o644) },
			want:  "$DIR/sasl_passwd is readable by every user (mode 644); make it 0600, or 0640 to the group that must read it"},
		{name: "relay credentials broken", extra: saslParams,
			setup: func(t *testing.T, e *testEnv) { writePasswords(t, e, "[relay.example.com]:587 u\n", 0o600) },
			want:  "smtp_sasl_password_maps: $DIR/sasl_passwd:1: [relay.example.com]:587: want USERNAME:PASSWORD (no colon)"},
		{name: "relay credentials missing", extra: saslParams,
			want: "smtp_sasl_password_maps: open $DIR/sasl_passwd: no such file or directory"},
		{name: "spool mode",
			setup: func(t *testing.T, e *testEnv) {
				os.Mkdir(filepath.Join(e.spool, "incoming"), 0o700)
				os.Chmod(filepath.Join(e.spool, "incoming"), 0o777)
				ownSpoolDir(t, e, "incoming")
			},
			want: "$DIR/spool/incoming has mode 777, want 700 (the master fixes it at start)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := checkEnv(t, "")
			if tc.extra != "" {
				b, _ := os.ReadFile(e.cfg)
				text := strings.ReplaceAll(tc.extra, "$DIR", e.dir)
				// Parameters go before the first table.
				if strings.HasPrefix(text, "[") {
					text = string(b) + text
				} else {
					text = text + string(b)
				}
				os.WriteFile(e.cfg, []byte(text), 0o644)
			}
			if tc.setup != nil {
				tc.setup(t, e)
			}
			warnings, out, code := check(t, e)
			want := strings.ReplaceAll(tc.want, "$DIR", e.dir)
			if code != 1 || out != "" || len(warnings) != 1 || !strings.HasPrefix(warnings[0], want) {
				t.Errorf("exit %d, %q, warnings %q; want 1 and the warning %q", code, out, warnings, want)
			}
		})
	}
}

// TestCheckRoot: as root, check looks up the users the file names and
// the owners of the spool's directories.
func TestCheckRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	e := checkEnv(t, "default_privs = \"no-such-user-here\"\n")
	if err := os.Mkdir(filepath.Join(e.spool, "active"), 0o700); err != nil {
		t.Fatal(err)
	}
	warnings, _, code := check(t, e)
	if code != 1 || len(warnings) != 2 || !strings.HasPrefix(warnings[0], `user "no-such-user-here": `) ||
		warnings[1] != e.spool+"/active is owned by uid 0, want postern (the master fixes it at start)" {
		t.Errorf("exit %d, warnings %q", code, warnings)
	}
}

// saslParams turn on relay authentication with $DIR/sasl_passwd.
const saslParams = "smtp_sasl_auth_enable = true\nsmtp_sasl_password_maps = \"$DIR/sasl_passwd\"\n"

// writePasswords writes the credentials file, mail_owner's when the
// test runs as root, as the agent needs it.
func writePasswords(t *testing.T, e *testEnv, text string, mode os.FileMode) {
	t.Helper()
	e.write(t, "sasl_passwd", text, mode)
	if os.Geteuid() == 0 {
		u, err := daemon.LookupUser("postern")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(filepath.Join(e.dir, "sasl_passwd"), u.UID, u.GID); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCheckPasswordsOwner: as root, check warns about a credentials
// file the smtp agent, running as mail_owner, could not read, and is
// content with one it can.
func TestCheckPasswordsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	e := checkEnv(t, "")
	b, _ := os.ReadFile(e.cfg)
	os.WriteFile(e.cfg, []byte(strings.ReplaceAll(saslParams, "$DIR", e.dir)+string(b)), 0o644)
	path := filepath.Join(e.dir, "sasl_passwd")
	e.write(t, "sasl_passwd", "relay.example.com u:p\n", 0o600)
	warnings, _, code := check(t, e)
	want := path + " cannot be read by postern, as whom smtp reads it (owner uid 0, gid 0, mode 600)"
	if code != 1 || len(warnings) != 1 || !strings.HasPrefix(warnings[0], want) {
		t.Errorf("exit %d, warnings %q, want %q", code, warnings, want)
	}
	u, err := daemon.LookupUser("postern")
	if err != nil {
		t.Fatal(err)
	}
	os.Chown(path, 0, u.GID)
	os.Chmod(path, 0o640)
	if warnings, _, code := check(t, e); code != 0 || len(warnings) != 0 {
		t.Errorf("0640 root:postern: exit %d, warnings %q", code, warnings)
	}
}
