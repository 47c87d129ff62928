package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"postern.dev/postern/libmail/account"
	"postern.dev/postern/libmail/config"
)

// Standard ports; a sandbox listens on loopback at port base plus these.
var sandboxPorts = []struct {
	service string
	port    int
}{
	{"smtp", 25}, {"submission", 587}, {"submissions", 465},
	{"imap", 143}, {"imaps", 993}, {"pop3", 110}, {"pop3s", 995},
}

// sandboxSessions are the session services the sandbox's IMAP and POP3
// login processes hand their clients to.
var sandboxSessions = []string{"imap-session", "pop3-session"}

// cmdSandbox writes a self-contained configuration under DIR: spool,
// mailboxes and log inside it, listeners on loopback at base+port, a
// self-signed certificate, an aliases file and the account
// demo@example.test (password demo). Started by an ordinary user it needs
// no privilege; started as root it makes the postern and vmail users if
// they are missing, since a root master runs its daemons as them.
func cmdSandbox(a *app, args []string) error {
	fs := a.flags("sandbox", "DIR [-port-base N] [-f]", "Write a self-contained, unprivileged mail system under DIR, listening on loopback.")
	base := fs.Int("port-base", 10000, "listeners sit on 127.0.0.1 at `N` plus the standard port")
	force := fs.Bool("f", false, "overwrite an existing sandbox configuration")
	pos, err := a.parse(fs, args, 1)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("one directory expected")
	}
	dir := pos[0]
	if *base < 1 || *base+995 > 65535 {
		return usageError(fmt.Sprintf("port base %d out of range", *base))
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(dir, "postern.toml")
	if _, err := os.Stat(cfgPath); err == nil && !*force {
		return fmt.Errorf("%s exists; use -f to overwrite it", cfgPath)
	}
	bin, err := binDir()
	if err != nil {
		return err
	}
	for _, d := range []string{dir, filepath.Join(dir, "tls"), filepath.Join(dir, "log")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if os.Geteuid() == 0 {
		if err := ensureSystemUsers(a); err != nil {
			return err
		}
		warnUnreachable(a, dir)
	}
	if err := writeCert(filepath.Join(dir, "tls")); err != nil {
		return err
	}
	hash, err := account.Hash("demo")
	if err != nil {
		return err
	}
	files := []struct {
		name, text string
		secret     bool
	}{
		{"aliases", "# aliases(5) for the sandbox; changes take effect without newaliases.\n" +
			"postmaster: demo@example.test\nroot: postmaster\nabuse: postmaster\nMAILER-DAEMON: postmaster\n", false},
		{"accounts", "# Virtual accounts (Dovecot passwd-file format). demo's password is demo.\ndemo@example.test:" + hash + "\n", true},
		{"postern.toml", sandboxConfig(dir, bin, *base), false},
	}
	for _, f := range files {
		write := writeFile
		if f.secret {
			write = writeSecret
		}
		if err := write(filepath.Join(dir, f.name), []byte(f.text), 0o644); err != nil {
			return err
		}
	}
	if _, err := config.Load(cfgPath, config.Options{}); err != nil {
		return fmt.Errorf("the sandbox configuration does not load (a bug): %w", err)
	}
	fmt.Fprintf(a.stdout, "postern: sandbox written to %s\n", dir)
	for _, p := range sandboxPorts {
		fmt.Fprintf(a.stdout, "  %-12s 127.0.0.1:%d\n", p.service, *base+p.port)
	}
	fmt.Fprintf(a.stdout, "  account      demo@example.test (password demo), Maildir %s\n", filepath.Join(dir, "mail", "example.test", "demo"))
	fmt.Fprintf(a.stdout, "  mail log     %s\n", filepath.Join(dir, "log", "maillog"))
	fmt.Fprintf(a.stdout, "  certificate  %s (self-signed: clients that verify need it as their CA file)\n", filepath.Join(dir, "tls", "cert.pem"))
	fmt.Fprintf(a.stdout, "run it with: %s -c %s\n", filepath.Join(bin, "master"), cfgPath)
	fmt.Fprintf(a.stdout, "and give the admin commands the same file: %s -c %s status\n", filepath.Join(bin, "postern"), cfgPath)
	return nil
}

func sandboxConfig(dir, bin string, base int) string {
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	var b strings.Builder
	fmt.Fprintf(&b, `# postern sandbox: a self-contained mail system on loopback, made by
# "postern sandbox". Everything it writes stays under %s.
# See conf/postern.toml or postern.toml(5) for every parameter.

myhostname = "mail.example.test"
# $myhostname and localhost are local as in Postfix's default, so that
# mail to postmaster@$myhostname (double bounces among it) stays here.
mydestination = ["example.test", "$myhostname", "localhost"]
queue_directory = %s
daemon_directory = %s
virtual_mailbox_base = %s
alias_maps = [%s]
accounts_file = %s
maillog_file = %s
smtpd_tls_cert_file = %s
smtpd_tls_key_file = %s
# Only aliases and accounts receive mail here, not the machine's users.
local_system_users = false
# postscreen(8) screens port 25 in an installed system; a sandbox talks to
# smtpd directly (postern -c FILE config set postscreen_enable=true
# turns it on here too).
postscreen_enable = false
`, dir, q(filepath.Join(dir, "spool")), q(bin), q(filepath.Join(dir, "mail")), q(filepath.Join(dir, "aliases")),
		q(filepath.Join(dir, "accounts")), q(filepath.Join(dir, "log", "maillog")),
		q(filepath.Join(dir, "tls", "cert.pem")), q(filepath.Join(dir, "tls", "key.pem")))
	for _, p := range sandboxPorts {
		fmt.Fprintf(&b, "\n[services.%s]\nlisten = [\"127.0.0.1:%d\"]\nenabled = true\n", p.service, base+p.port)
	}
	for _, name := range sandboxSessions {
		fmt.Fprintf(&b, "\n[services.%s]\nenabled = true\n", name)
	}
	return b.String()
}

// binDir is where the running postern program is: the sandbox runs the
// daemons built next to it.
func binDir() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	exe, err = filepath.EvalSymlinks(exe)
	if err != nil {
		return "", err
	}
	return filepath.Dir(exe), nil
}

// ensureSystemUsers creates the postern and vmail system users, as the
// Debian package's postinst does, when a root sandbox needs them.
func ensureSystemUsers(a *app) error {
	for _, name := range []string{"postern", "vmail"} {
		if _, err := user.Lookup(name); err == nil {
			continue
		}
		cmd := exec.Command("useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
			"--shell", "/usr/sbin/nologin", name)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("create system user %s: %v: %s", name, err, out)
		}
		fmt.Fprintf(a.stdout, "postern: created system user %s\n", name)
	}
	return nil
}

// warnUnreachable says so when the unprivileged daemons cannot reach DIR
// because a parent directory is closed to others.
func warnUnreachable(a *app, dir string) {
	for d := filepath.Dir(dir); d != "/"; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err == nil && st.Mode().Perm()&0o001 == 0 {
			fmt.Fprintf(a.stderr, "postern: warning: %s is not searchable by others; the daemons, which run as postern and vmail, will not reach %s (chmod o+x %s)\n", d, dir, d)
			return
		}
	}
}

// writeCert makes a self-signed certificate for the sandbox's names.
func writeCert(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "mail.example.test", Organization: []string{"postern sandbox"}},
		DNSNames:     []string{"mail.example.test", "localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return writeSecret(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0)
}
