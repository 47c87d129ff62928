package smtp

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/libmail/testkit"
)

const (
	relayUser = "user@example.org"
	relayPass = "pa:ss word"
)

// authEnv is tlsEnv with smtp_sasl_auth_enable and a credentials file
// holding file (none if file is empty), and a fake server that offers AUTH PLAIN LOGIN inside
// TLS and requires relayUser's login before MAIL.
func authEnv(t *testing.T, level, file string, params func(*config.Params)) (*testEnv, *fakeServer, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sasl_passwd")
	if file != "" {
		writeFile(t, path, file)
	}
	e, s, _ := tlsEnv(t, level, envOptions{params: func(p *config.Params) {
		p.SMTPSASLAuthEnable = true
		p.SMTPSASLPasswordMaps = path
		if params != nil {
			params(p)
		}
	}})
	s.extTLS = []string{"AUTH PLAIN LOGIN"}
	s.auth = relayUser + ":" + relayPass
	return e, s, path
}

// writeFile replaces path with a new file of mode 0600, as an admin's
// editor does.
func writeFile(t *testing.T, path, text string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func plainIR(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
}

// commands returns the commands of the dialogue, in order.
func commands(s *fakeServer) []string {
	var out []string
	for _, l := range s.Dialogue() {
		if c, ok := strings.CutPrefix(l, "C: "); ok {
			out = append(out, c)
		}
	}
	return out
}

// TestAuthRelay: the agent logs in to a relay host that requires it,
// inside TLS, after the second EHLO, and the mail goes through; with
// smtp_sasl_mechanism_filter it uses LOGIN.
func TestAuthRelay(t *testing.T) {
	for _, tt := range []struct {
		filter []string
		want   []string // the commands between the second EHLO and MAIL
	}{
		{nil, []string{"AUTH PLAIN " + plainIR(relayUser, relayPass)}},
		{[]string{"login"}, []string{"AUTH LOGIN", base64.StdEncoding.EncodeToString([]byte(relayUser)),
			base64.StdEncoding.EncodeToString([]byte(relayPass))}},
	} {
		e, s, _ := authEnv(t, "encrypt", "# the smarthost\n[mx.example.net] "+relayUser+":"+relayPass+"\n",
			func(p *config.Params) { p.SMTPSASLMechanismFilter = tt.filter })
		id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.com")
		rep := e.handle(id, "[mx.example.net]", true, 0)
		checkResults(t, rep, want{"sent", "2.0.0", "250"})
		cmds := commands(s)
		want := append(append([]string{"EHLO mail.example.test", "STARTTLS", "EHLO mail.example.test"}, tt.want...), "MAIL FROM:<s@example.org>")
		if len(cmds) < len(want) || strings.Join(cmds[:len(want)], "\n") != strings.Join(want, "\n") {
			t.Errorf("filter %q: commands\n%s\nwant them to begin\n%s", tt.filter, strings.Join(cmds, "\n"), strings.Join(want, "\n"))
		}
	}
}

// TestAuthWrongPassword: the server's 535 defers the mail with its
// reply, in Postfix's words in the log, before any MAIL; the
// destination counts as unreachable.
func TestAuthWrongPassword(t *testing.T) {
	e, s, _ := authEnv(t, "encrypt", "[mx.example.net] "+relayUser+":wrong\n", nil)
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.com")
	rep := e.handle(id, "[mx.example.net]", true, 0)
	checkResults(t, rep, want{"deferred", "4.7.8", "535 5.7.8 Error: authentication failed: authentication failure"})
	if !rep.Unreachable {
		t.Error("not unreachable")
	}
	for _, c := range commands(s) {
		if strings.HasPrefix(c, "MAIL") {
			t.Errorf("MAIL after a failed AUTH: %q", commands(s))
		}
	}
	log := e.log.String()
	if want := "status=deferred (SASL authentication failed; server mx.example.net[192.0.2.5]:2525 said: 535 5.7.8 Error: authentication failed: authentication failure)"; !strings.Contains(log, want) {
		t.Errorf("log lacks %q:\n%s", want, log)
	}
	if ent := e.read(queue.Active, id); ent.State[0].Reply != "535 5.7.8 Error: authentication failed: authentication failure" {
		t.Errorf("queue entry records %+v", ent.State[0])
	}
}

// TestAuthNeedsTLS: a server that offers AUTH without STARTTLS (or
// whose TLS handshake fails, so that the session goes on in plaintext)
// never sees the password: the mail is deferred with a reason that says
// so, and no AUTH or MAIL is sent. With noplaintext taken out of
// smtp_sasl_security_options the password may go without TLS.
func TestAuthNeedsTLS(t *testing.T) {
	for _, tt := range []struct {
		name    string
		badTLS  bool
		options []string
		sent    bool
	}{
		{name: "no STARTTLS"},
		{name: "failed handshake, plaintext retry", badTLS: true},
		{name: "no STARTTLS, plaintext allowed", options: []string{"noanonymous"}, sent: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, s, _ := authEnv(t, "may", "[mx.example.net] "+relayUser+":"+relayPass+"\n", func(p *config.Params) {
				if tt.options != nil {
					p.SMTPSASLSecurityOptions = tt.options
				}
			})
			s.ext = []string{"PIPELINING", "AUTH PLAIN LOGIN"}
			if tt.badTLS {
				s.ext = append(s.ext, "STARTTLS")
				s.badTLS = true
			}
			id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.com")
			rep := e.handle(id, "[mx.example.net]", true, 0)
			cmds := strings.Join(commands(s), "\n")
			if tt.sent {
				checkResults(t, rep, want{"sent", "2.0.0", "250"})
				if !strings.Contains(cmds, "AUTH PLAIN "+plainIR(relayUser, relayPass)) {
					t.Errorf("commands:\n%s", cmds)
				}
				return
			}
			checkResults(t, rep, want{"deferred", "4.7.0",
				"SASL authentication failed: server mx.example.net[192.0.2.5]:2525 offered no compatible authentication mechanisms for this type of connection security"})
			if strings.Contains(cmds, "AUTH") || strings.Contains(cmds, "MAIL") || strings.Contains(cmds, base64.StdEncoding.EncodeToString([]byte(relayUser))[:8]) {
				t.Errorf("commands without TLS:\n%s", cmds)
			}
			if !strings.Contains(rep.Results[0].Reply, "smtp_sasl_security_options") {
				t.Errorf("reply %q does not name the parameter", rep.Results[0].Reply)
			}
		})
	}
}

// TestAuthNotOffered: a server that offers no AUTH, or only mechanisms
// the agent does not have, gets the mail without a login, as from
// Postfix; and a nexthop without an entry gets no login either.
func TestAuthNotOffered(t *testing.T) {
	for _, tt := range []struct {
		name, nexthop, ext string
		log                string
	}{
		{name: "no AUTH", nexthop: "[mx.example.net]"},
		{name: "other mechanisms", nexthop: "[mx.example.net]", ext: "AUTH CRAM-MD5 GSSAPI",
			log: "mx.example.net[192.0.2.5]:2525 offered no supported AUTH mechanisms: 'CRAM-MD5 GSSAPI'"},
		{name: "no entry for the nexthop", nexthop: "example.net", ext: "AUTH PLAIN LOGIN"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, s, _ := authEnv(t, "encrypt", "[mx.example.net] "+relayUser+":"+relayPass+"\n", nil)
			s.auth, s.extTLS = "", strings.Fields(tt.ext)
			if tt.ext != "" {
				s.extTLS = []string{tt.ext}
			}
			id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
			rep := e.handle(id, tt.nexthop, true, 0)
			checkResults(t, rep, want{"sent", "2.0.0", "250"})
			if cmds := strings.Join(commands(s), "\n"); strings.Contains(cmds, "AUTH") {
				t.Errorf("commands:\n%s", cmds)
			}
			if tt.log != "" && !strings.Contains(e.log.String(), tt.log) {
				t.Errorf("log lacks %q:\n%s", tt.log, e.log.String())
			}
		})
	}
}

// TestCredentialFor: the nexthop as written, then without its port,
// then a [host] as its host.
func TestCredentialFor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sasl_passwd")
	writeFile(t, path, "[relay.example.com]:587 a:1\n[relay.example.com] b:2\nrelay.example.com c:3\n"+
		"example.net:2525 d:4\nexample.org e:5\n")
	e := newTestEnv(t, envOptions{params: func(p *config.Params) {
		p.SMTPSASLAuthEnable, p.SMTPSASLPasswordMaps = true, path
	}})
	for nexthop, user := range map[string]string{
		"[relay.example.com]:587":  "a",
		"[Relay.Example.com]:587":  "a",
		"[relay.example.com]:2525": "b",
		"[relay.example.com]":      "b",
		"relay.example.com":        "c",
		"relay.example.com:587":    "c",
		"example.net:2525":         "d",
		"example.net":              "",
		"example.org:587":          "e",
		"[example.org]":            "e",
		"example.com":              "",
	} {
		d, err := parseNexthop(nexthop, 25)
		if err != nil {
			t.Fatal(err)
		}
		cred, f := e.agent.credentialFor(d)
		if f != nil {
			t.Fatalf("%s: %+v", nexthop, f)
		}
		got := ""
		if cred != nil {
			got = cred.Username
		}
		if got != user {
			t.Errorf("%s: user %q, want %q", nexthop, got, user)
		}
	}
}

// TestAuthCachedSessions: a session logged in is reused for the next
// delivery with the same credentials, and not once the password in the
// file has changed.
func TestAuthCachedSessions(t *testing.T) {
	e, s, path := authEnv(t, "encrypt", "[mx.example.net] "+relayUser+":"+relayPass+"\n", func(p *config.Params) {
		p.SMTPConnectionCacheTimeLimit = config.Duration(time.Minute)
	})
	send := func() {
		t.Helper()
		id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.com")
		checkResults(t, e.handle(id, "[mx.example.net]", true, 0), want{"sent", "2.0.0", "250"})
	}
	send()
	send()
	if s.Conns() != 1 || strings.Count(strings.Join(commands(s), "\n"), "AUTH") != 1 {
		t.Fatalf("%d connections, commands\n%s", s.Conns(), strings.Join(commands(s), "\n"))
	}
	s.auth = relayUser + ":new password"
	writeFile(t, path, "[mx.example.net] "+relayUser+":new password\n")
	send()
	cmds := strings.Join(commands(s), "\n")
	if s.Conns() != 2 || !strings.Contains(cmds, "AUTH PLAIN "+plainIR(relayUser, "new password")) {
		t.Errorf("%d connections after the password changed, commands\n%s", s.Conns(), cmds)
	}
}

// TestPasswordFileProblems: without a usable credentials file the mail
// is deferred, not sent without its login; a bad edit keeps the last
// good version in use; every problem is logged with its FILE:LINE, and
// a file every user may read is warned about.
func TestPasswordFileProblems(t *testing.T) {
	e, s, path := authEnv(t, "encrypt", "", nil)
	send := func(w want) {
		t.Helper()
		id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.com")
		checkResults(t, e.handle(id, "[mx.example.net]", true, 0), w)
	}
	send(want{"deferred", "4.3.5", "mail system configuration error: smtp_sasl_password_maps: stat " + path + ": no such file or directory"})

	writeFile(t, path, "[mx.example.net] "+relayUser+"\n")
	send(want{"deferred", "4.3.5", "mail system configuration error: smtp_sasl_password_maps: 1 bad line(s), the first at " + path + ":1: [mx.example.net]: want USERNAME:PASSWORD (no colon)"})
	if s.Conns() != 0 {
		t.Errorf("%d connections without credentials", s.Conns())
	}

	writeFile(t, path, "[mx.example.net] "+relayUser+":"+relayPass+"\n")
	os.Chmod(path, 0o644)
	send(want{"sent", "2.0.0", "250"})
	if want := "smtp_sasl_password_maps " + path + " is readable by every user (mode 644)"; !strings.Contains(e.log.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, e.log.String())
	}

	writeFile(t, path, "[mx.example.net] "+relayUser+":"+relayPass+"\nbad\n")
	send(want{"sent", "2.0.0", "250"})
	send(want{"sent", "2.0.0", "250"})
	log := e.log.String()
	if want := "warning: smtp_sasl_password_maps: " + path + ":2: bad: no USERNAME:PASSWORD after the nexthop"; strings.Count(log, want) != 1 {
		t.Errorf("log has %q %d times, want once:\n%s", want, strings.Count(log, want), log)
	}
	if want := "the version of " + path + " read before stays in use"; strings.Count(log, want) != 1 {
		t.Errorf("log has %q %d times, want once:\n%s", want, strings.Count(log, want), log)
	}
	if strings.Contains(log, relayPass) {
		t.Errorf("the log quotes the password:\n%s", log)
	}
}

// TestAuthNextServer: a server that refuses the login gives way to the
// next MX, which takes it, and the refusal is logged on the way.
func TestAuthNextServer(t *testing.T) {
	e, s1, _ := authEnv(t, "encrypt", "example.net "+relayUser+":"+relayPass+"\n", nil)
	s1.auth = relayUser + ":another password"
	p := testkit.NewPKI(t, "mx2.example.net")
	s2 := newFakeServer(t, "PIPELINING", "STARTTLS")
	s2.tls, s2.extTLS, s2.auth = p.ServerConfig(), []string{"AUTH PLAIN LOGIN"}, relayUser+":"+relayPass
	e.res.AddMX("example.net", "mx2.example.net", 20)
	e.res.AddHost("mx2.example.net", "192.0.2.6")
	e.dialer.route("192.0.2.6:2525", s2.addr())
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep := e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"sent", "2.0.0", "250"})
	if len(s1.Msgs()) != 0 || len(s2.Msgs()) != 1 {
		t.Errorf("%d and %d messages", len(s1.Msgs()), len(s2.Msgs()))
	}
	if want := ": SASL authentication failed; server mx.example.net[192.0.2.5]:2525 said: 535 5.7.8"; !strings.Contains(e.log.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, e.log.String())
	}
}
