package e2e

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/testkit"
)

// relayUser and relayPass are the smarthost account of these tests; the
// password has a colon and a space, which the credentials file keeps.
const (
	relayUser = "postern@example.org"
	relayPass = "s3cret: with colon"
)

// relayZone names the smarthost relay.test, at the sink's address.
const relayZone = "$ORIGIN relay.test.\n@ A 127.0.0.1\n"

// writePasswords writes a credentials file under workDir, where the
// daemons can reach it, readable by the smtp agent only: 0600, owned
// by mail_owner when the test runs as root.
func writePasswords(t *testing.T, text string) string {
	t.Helper()
	dir, err := os.MkdirTemp(workDir, "sasl-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	path := filepath.Join(dir, "sasl_passwd")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		u, err := daemon.LookupUser("postern")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(path, u.UID, u.GID); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// TestRelayAuth: the smarthost setup. postern relays everything through
// relayhost = [relay.test]:PORT, a go-smtp sink that requires a login,
// offered inside TLS only, with the credentials from
// smtp_sasl_password_maps. The right password delivers, over TLS with
// the certificate verified; a wrong one defers the mail with the
// server's 535; a sink without STARTTLS that offers AUTH in plaintext
// never sees AUTH, and the mail waits.
func TestRelayAuth(t *testing.T) {
	dir, err := os.MkdirTemp(workDir, "pki-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	pki := testkit.NewPKI(t, "relay.test")
	caFile := pki.WriteCA(t, dir)
	good := &tls.Config{Certificates: []tls.Certificate{pki.Server}}

	tests := []struct {
		name     string
		sinkTLS  *tls.Config
		password string
		set      []string
		mech     string // the mechanism used, when the login succeeds
		log      string // the log line's part that tells what happened
	}{
		{name: "PLAIN over verified TLS", sinkTLS: good, password: relayPass, mech: "PLAIN",
			set: []string{"smtp_tls_security_level=verify", "smtp_tls_CAfile=" + caFile},
			log: "status=sent (250 2.0.0 OK: queued)"},
		{name: "LOGIN", sinkTLS: good, password: relayPass, mech: "LOGIN",
			set: []string{"smtp_tls_security_level=encrypt", `smtp_sasl_mechanism_filter=["login"]`},
			log: "status=sent (250 2.0.0 OK: queued)"},
		{name: "wrong password", sinkTLS: good, password: "wrong",
			set: []string{"smtp_tls_security_level=encrypt"},
			log: "dsn=4.7.8, status=deferred (SASL authentication failed; server relay.test[127.0.0.1]:%d said: 535 5.7.8 Authentication failed)"},
		{name: "no TLS", password: relayPass,
			set: []string{"smtp_tls_security_level=may"},
			log: "dsn=4.7.0, status=deferred (SASL authentication failed: server relay.test[127.0.0.1]:%d offered no compatible authentication mechanisms for this type of connection security"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := NewSinkAuth(t, tt.sinkTLS, SinkAuth{User: relayUser, Password: relayPass, Plaintext: tt.sinkTLS == nil})
			nexthop := fmt.Sprintf("[relay.test]:%d", sink.Port)
			file := writePasswords(t, "# the smarthost\n"+nexthop+" "+relayUser+":"+tt.password+"\n")
			set := append([]string{"relayhost=" + nexthop, "smtp_sasl_password_maps=" + file, "smtp_sasl_auth_enable=true"}, tt.set...)
			s, _ := outbound(t, relayZone, sink.Port, set...)
			submit(t, s, "alice@example.org", []string{"bob@remote.test"}, "relayauth")
			want := tt.log
			if strings.Contains(want, "%d") {
				want = fmt.Sprintf(want, sink.Port)
			}
			s.WaitLog(want, 20*time.Second)
			logins := sink.Logins()
			if tt.mech != "" {
				tx := sink.Wait(1, 10*time.Second)[0]
				if !tx.TLS || strings.Join(tx.Rcpts, ",") != "bob@remote.test" {
					t.Errorf("delivered with TLS %v to %q", tx.TLS, tx.Rcpts)
				}
				if len(logins) != 1 || logins[0] != (SinkLogin{Mech: tt.mech, User: relayUser, OK: true, TLS: true}) {
					t.Errorf("logins %+v", logins)
				}
				return
			}
			if n := len(sink.Txs()); n != 0 {
				t.Errorf("%d messages delivered, want none", n)
			}
			switch tt.sinkTLS {
			case nil:
				// The password never went out: go-smtp calls Auth for
				// any AUTH command it takes.
				if len(logins) != 0 {
					t.Errorf("AUTH without TLS: %+v", logins)
				}
			default:
				if len(logins) != 1 || logins[0].OK || !logins[0].TLS {
					t.Errorf("logins %+v", logins)
				}
			}
			if strings.Contains(s.Log(), relayPass) {
				t.Error("the log quotes the password")
			}
		})
	}
}

// TestRelayAuthAiosmtpd: the same login as aiosmtpd, another server
// written apart from postern, takes it: PLAIN and LOGIN (which go-sasl,
// behind the go-smtp sink, has no server for) inside STARTTLS, and the
// message is delivered.
func TestRelayAuthAiosmtpd(t *testing.T) {
	dir, err := os.MkdirTemp(workDir, "pki-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	cert, key := testkit.NewPKI(t, "relay.test").WriteServer(t, dir)
	for _, mech := range []string{"PLAIN", "LOGIN"} {
		t.Run(mech, func(t *testing.T) {
			peer := NewAioPeer(t, "--tls", cert, key, "--auth", relayUser+":"+relayPass)
			nexthop := fmt.Sprintf("[relay.test]:%d", peer.Port)
			file := writePasswords(t, nexthop+" "+relayUser+":"+relayPass+"\n")
			s, _ := outbound(t, relayZone, peer.Port, "relayhost="+nexthop, "smtp_sasl_password_maps="+file,
				"smtp_sasl_auth_enable=true", "smtp_tls_security_level=encrypt",
				fmt.Sprintf("smtp_sasl_mechanism_filter=[%q]", strings.ToLower(mech)))
			submit(t, s, "alice@example.org", []string{"bob@remote.test"}, "relayauth")
			m := peer.Wait(1, 20*time.Second)[0]
			if strings.Join(m.RcptTos, ",") != "bob@remote.test" {
				t.Errorf("recipients %q", m.RcptTos)
			}
			if got := peer.Logins(); len(got) != 1 || got[0] != mech+" "+relayUser+" ok" {
				t.Errorf("logins %q", got)
			}
			s.WaitLog("status=sent (250 2.0.0 OK: queued)", 10*time.Second)
		})
	}
}
