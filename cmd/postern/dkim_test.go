package main

import (
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	miekg "github.com/miekg/dns"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/dkim"
)

// TestDKIMKeygen: keygen writes a key of each type that a signer loads,
// mode 0600 owned by the daemon that signs (mail_owner as root, else the
// user who runs it), and prints a zone-file line
// whose TXT record (its strings joined, as a resolver returns them)
// publishes that key, with the dkim_signing_keys entry that signs with
// it. It does not replace a key without -f, and refuses bad names.
func TestDKIMKeygen(t *testing.T) {
	needSandboxUsers(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "postern.toml")
	for _, c := range []struct{ typ, sel string }{{"rsa", "rsa2026"}, {"ed25519", "ed2026"}} {
		out := mustPostern(t, "-c", cfg, "dkim", "keygen", "Example.Test", c.sel, "-t", c.typ)
		file := filepath.Join(dir, "dkim", "example.test."+c.sel+".key")
		checkKeyFile(t, file)
		var zone, entry string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if m := regexp.MustCompile(`add "(.*)" to dkim_signing_keys`).FindStringSubmatch(l); m != nil {
				entry = m[1]
			}
			if !strings.HasPrefix(l, ";") {
				zone += l + "\n"
			}
		}
		if want := "example.test " + c.sel + " " + file; entry != want {
			t.Errorf("%s: entry %q, want %q\n%s", c.typ, entry, want, out)
		}
		rr, err := miekg.NewRR(zone)
		if err != nil {
			t.Fatalf("%s: zone line %q: %v", c.typ, zone, err)
		}
		txt := rr.(*miekg.TXT)
		if txt.Hdr.Name != c.sel+"._domainkey.example.test." {
			t.Errorf("%s: record name %s", c.typ, txt.Hdr.Name)
		}
		specs, err := config.ParseDKIMSigningKeys([]string{entry})
		if err != nil {
			t.Fatal(err)
		}
		keys, err := dkim.LoadKeys([]dkim.KeySpec{{Domain: specs[0].Domain, Selector: specs[0].Selector, File: specs[0].File}})
		if err != nil {
			t.Fatal(err)
		}
		k := keys.For("example.test")[0]
		rec, _ := dkim.Record(k.Signer.Public())
		if strings.Join(txt.Txt, "") != rec || k.Type() != c.typ {
			t.Errorf("%s: the printed record %q does not publish the %s key written (%q)", c.typ, txt.Txt, k.Type(), rec)
		}
		if _, errs, code := postern("-c", cfg, "dkim", "keygen", "example.test", c.sel, "-t", c.typ); code != 1 || !strings.Contains(errs, "exists") {
			t.Errorf("%s again: exit %d %q", c.sel, code, errs)
		}
		if _, errs, code := postern("-c", cfg, "dkim", "keygen", "-f", "example.test", c.sel, "-t", c.typ); code != 0 {
			t.Errorf("%s -f: exit %d %q", c.sel, code, errs)
		}
	}
	for _, args := range [][]string{
		{"keygen", "example.test"}, {"keygen", "example.test", "bad_selector"}, {"keygen", "exa mple", "s"},
		{"keygen", "example.test", "s", "-t", "dsa"}, {"bogus"}, {},
	} {
		if _, _, code := postern(append([]string{"-c", cfg, "dkim"}, args...)...); code != 2 {
			t.Errorf("dkim %q: exit %d, want 2", args, code)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "dkim", "example.test.bad_selector.key")); err == nil {
		t.Error("a key was written for a bad selector")
	}
}

// checkKeyFile asserts a DKIM key's rights: 0600, owned by postern (the
// default mail_owner, as whom smtpd signs) when root made it, else by
// whoever did.
func checkKeyFile(t *testing.T, path string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	uid, gid := os.Getuid(), os.Getgid()
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postern")
		if err != nil {
			t.Fatal(err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	}
	if st.Mode().Perm() != 0o600 || int(sys.Uid) != uid || int(sys.Gid) != gid {
		t.Errorf("%s: mode %o owner %d:%d, want 600 %d:%d", path, st.Mode().Perm(), sys.Uid, sys.Gid, uid, gid)
	}
}
