package smtpd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	msgauth "github.com/emersion/go-msgauth/dkim"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/dkim"
	"postern.dev/postern/libmail/testkit"
)

// dkimKeyFiles writes an RSA and an Ed25519 key of example.test and
// returns the dkim_signing_keys setting and a resolver publishing them.
func dkimKeyFiles(t *testing.T) (string, *testkit.Resolver) {
	t.Helper()
	dir := t.TempDir()
	r := testkit.NewResolver()
	var entries []string
	for _, kt := range []struct{ typ, sel string }{{"rsa", "rsa2026"}, {"ed25519", "ed2026"}} {
		k, err := dkim.Generate(kt.typ)
		if err != nil {
			t.Fatal(err)
		}
		pemBytes, _ := dkim.MarshalPrivateKey(k)
		file := filepath.Join(dir, "example.test."+kt.sel+".key")
		if err := os.WriteFile(file, pemBytes, 0o600); err != nil {
			t.Fatal(err)
		}
		rec, _ := dkim.Record(k.Public())
		r.SetTXT(dkim.RecordName(kt.sel, "example.test"), rec)
		entries = append(entries, fmt.Sprintf("%q", "example.test "+kt.sel+" "+file))
	}
	return "dkim_signing_keys = [" + strings.Join(entries, ", ") + "]\n", r
}

// TestDKIMSigning: smtpd signs the mail of authenticated clients and of
// clients in mynetworks (both keys of the From: domain), not that of
// other clients; the queued message verifies, and the log says which keys
// signed.
func TestDKIMSigning(t *testing.T) {
	keys, r := dkimKeyFiles(t)
	for _, c := range []struct {
		name, config string
		auth, signed bool
	}{
		{"authenticated", "mynetworks = [\"192.0.2.0/24\"]\n", true, true},
		{"mynetworks", "", false, true},
		{"other client", "mynetworks = [\"192.0.2.0/24\"]\n", false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, spool := testServer(t, "smtpd_sasl_auth_enable = true\nsmtpd_tls_auth_only = false\n"+keys+c.config)
			d := dial(t, serveTest(t, srv))
			d.send("EHLO client.example\r\n")
			d.expect("250-")
			if c.auth {
				d.send("AUTH PLAIN AGRlbW9AZXhhbXBsZS50ZXN0AGRlbW8=\r\n")
				d.expect("235 ")
			}
			d.send("MAIL FROM:<demo@example.test>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n")
			d.expect("250 ")
			d.expect("250 ")
			d.expect("354 ")
			d.send("From: Demo <demo@example.test>\r\nTo: demo@example.test\r\nSubject: signed?\r\n\r\nhi\r\n.\r\n")
			d.expect("250 2.0.0 Ok: queued as ")
			msgs := queuedMessages(t, spool)
			if len(msgs) != 1 {
				t.Fatalf("%d messages queued", len(msgs))
			}
			n := bytes.Count(msgs[0], []byte("DKIM-Signature:"))
			if !c.signed {
				if n != 0 {
					t.Errorf("signed:\n%s", msgs[0])
				}
				return
			}
			vs, err := msgauth.VerifyWithOptions(bytes.NewReader(msgs[0]), &msgauth.VerifyOptions{
				LookupTXT: func(name string) ([]string, error) { return r.LookupTXT(context.Background(), name) }})
			if err != nil || n != 2 || len(vs) != 2 || vs[0].Err != nil || vs[1].Err != nil {
				t.Errorf("%d signatures, %v %+v:\n%s", n, err, vs, msgs[0])
			}
		})
	}
}

// TestDKIMKeyUnreadable: smtpd does not start with a key it cannot use,
// and says which.
func TestDKIMKeyUnreadable(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "missing.key")
	cfg, err := config.Parse([]byte(fmt.Sprintf("dkim_signing_keys = [\"example.test s1 %s\"]\n", bad)), "test.toml", config.Options{Hostname: "mail.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewConfig(&cfg.Params); err == nil || !strings.Contains(err.Error(), "dkim_signing_keys") || !strings.Contains(err.Error(), bad) {
		t.Errorf("NewConfig: %v", err)
	}
}
