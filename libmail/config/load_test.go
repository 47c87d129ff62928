package config

import (
	"strings"
	"testing"
	"time"
)

var testOpt = Options{Hostname: "mail.example.test"}

func TestDefaults(t *testing.T) {
	c := Default(testOpt)
	if c.MyHostname != "mail.example.test" || c.MyDomain != "example.test" {
		t.Errorf("myhostname=%q mydomain=%q", c.MyHostname, c.MyDomain)
	}
	want := []string{"mail.example.test", "localhost.example.test", "localhost"}
	if strings.Join(c.MyDestination, ",") != strings.Join(want, ",") {
		t.Errorf("mydestination = %q, want %q", c.MyDestination, want)
	}
	if c.MessageSizeLimit != 10240000 {
		t.Errorf("message_size_limit = %d", c.MessageSizeLimit)
	}
	if c.MaximalQueueLifetime.D() != 5*24*time.Hour || c.MinimalBackoffTime.D() != 300*time.Second {
		t.Errorf("lifetimes %v %v", c.MaximalQueueLifetime, c.MinimalBackoffTime)
	}
	if s := c.Service("submissions"); s == nil || s.Enabled || !s.Params.SMTPDTLSWrapperMode || c.SMTPDTLSWrapperMode {
		t.Errorf("submissions should ship disabled with wrappermode: %+v", s)
	}
}

func TestUnknownKeyNamesLine(t *testing.T) {
	text := "myhostname = \"a.example\"\n\n# comment\nmessage_size_limt = 5\n"
	_, err := Parse([]byte(text), "/etc/postern/postern.toml", testOpt)
	if err == nil || !strings.Contains(err.Error(), "/etc/postern/postern.toml:4:") || !strings.Contains(err.Error(), "message_size_limt") {
		t.Fatalf("err = %v", err)
	}
}

func TestUnknownServiceKeyNamesLine(t *testing.T) {
	text := "[services.smtp]\nlisten = [\"127.0.0.1:2525\"]\nprocess_limt = 2\n"
	_, err := Parse([]byte(text), "f.toml", testOpt)
	if err == nil || !strings.Contains(err.Error(), "f.toml:3:") || !strings.Contains(err.Error(), "services.smtp.process_limt") {
		t.Fatalf("err = %v", err)
	}
	text = "[services.smtp.overrides]\nsmtpd_timout = \"5s\"\n"
	_, err = Parse([]byte(text), "f.toml", testOpt)
	if err == nil || !strings.Contains(err.Error(), "f.toml:2:") {
		t.Fatalf("err = %v", err)
	}
}

// TestMisspelledService: a service table that names no built-in service
// and defines no new one is a typo, and the message says so and names
// the service it resembles (it used to say `kind ""`).
func TestMisspelledService(t *testing.T) {
	text := "myhostname = \"a.example\"\n\n[services.submision]\nenabled = true\n"
	_, err := Parse([]byte(text), "f.toml", testOpt)
	if err == nil {
		t.Fatal("a misspelled service table loaded")
	}
	for _, want := range []string{"f.toml:3:", `unknown service "submision"`, `did you mean "submission"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to say %s", err, want)
		}
	}
	if strings.Contains(err.Error(), `kind ""`) {
		t.Errorf("err = %v still blames the kind", err)
	}
	// Far from every built-in name: no guess, but the list.
	_, err = Parse([]byte("[services.finger]\nenabled = true\n"), "f.toml", testOpt)
	if err == nil || strings.Contains(err.Error(), "did you mean") || !strings.Contains(err.Error(), "submissions") {
		t.Errorf("err = %v", err)
	}
	// A new service with kind and command is not a typo.
	if _, err := Parse([]byte("[services.relay]\nkind = \"unix\"\ncommand = \"smtp\"\nlisten = [\"private/relay\"]\n"), "f.toml", testOpt); err != nil {
		t.Errorf("a new service: %v", err)
	}
}

func TestMistypedValue(t *testing.T) {
	for _, text := range []string{
		"message_size_limit = \"big\"\n",
		"mydestination = 5\n",
		"smtpd_timeout = \"soon\"\n",
		"smtputf8_enable = \"yes\"\n",
	} {
		_, err := Parse([]byte("# x\n"+text), "f.toml", testOpt)
		if err == nil || !strings.Contains(err.Error(), "f.toml:2:") {
			t.Errorf("%q: err = %v", text, err)
		}
	}
}

func TestServiceMergeAndOverrides(t *testing.T) {
	text := `
myhostname = "mx.example.org"
smtpd_banner_unused_is_not_here = 1
`
	if _, err := Parse([]byte(text), "f", testOpt); err == nil {
		t.Fatal("unknown key accepted")
	}
	text = `
myhostname = "mx.example.org"
smtpd_tls_cert_file = "/c.pem"
smtpd_tls_key_file = "/k.pem"

[services.smtp]
listen = ["127.0.0.1:10025"]

[services.smtp.overrides]
smtpd_timeout = "10s"
myhostname = "other.example.org"

[services.submission]
enabled = false

[services.extra]
kind = "inet"
listen = ["127.0.0.1:2626"]
command = "smtpd"
`
	c, err := Parse([]byte(text), "f", testOpt)
	if err != nil {
		t.Fatal(err)
	}
	smtp := c.Service("smtp")
	// postscreen_enable (on by default) puts postscreen on the smtp service.
	if smtp.Kind != "inet" || smtp.Command != "postscreen" || smtp.Listen[0] != "127.0.0.1:10025" {
		t.Errorf("smtp service not merged: %+v", smtp)
	}
	if smtp.Params.SMTPDTimeout.D() != 10*time.Second || c.SMTPDTimeout.D() != 300*time.Second {
		t.Errorf("override: %v global %v", smtp.Params.SMTPDTimeout, c.SMTPDTimeout)
	}
	// $myhostname expands after overrides, per service.
	if smtp.Params.MyDestination[0] != "other.example.org" || c.MyDestination[0] != "mx.example.org" {
		t.Errorf("expansion: %q / %q", smtp.Params.MyDestination, c.MyDestination)
	}
	if got := strings.Join(smtp.Overrides, " "); got != "myhostname=other.example.org smtpd_timeout=10s" {
		t.Errorf("Overrides = %q", got)
	}
	if c.Service("submission").Enabled {
		t.Error("submission still enabled")
	}
	if !c.Service("submissions").Params.SMTPDTLSWrapperMode {
		t.Error("submissions lost its built-in override")
	}
	if e := c.Service("extra"); e == nil || e.ProcessLimit != 1 || !e.Enabled {
		t.Errorf("extra: %+v", e)
	}
}

func TestValidation(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"mynetworks = [\"300.1.1.1/8\"]\n", "f:1: mynetworks"},
		{"home_mailbox = \"Mailbox\"\n", "f:1: home_mailbox"},
		{"mail_owner = \"root\"\n", "f:1: mail_owner"},
		{"[services.smtp]\nkind = \"tcp\"\n", "f:1: service smtp"},
		{"[services.local]\ncapabilities = [\"sys_admin\"]\n", "capability"},
		{"[services.smtp.overrides]\nsmtpd_tls_security_level = \"maybe\"\n", "f:2: smtpd_tls_security_level"},
		{"smtp_sasl_auth_enable = true\n", "smtp_sasl_auth_enable needs a credentials file"},
		{"smtp_sasl_password_maps = \"hash:/etc/postfix/sasl_passwd\"\n", "without a hash: table type (and without postmap): name /etc/postfix/sasl_passwd"},
		{"smtp_sasl_password_maps = \"sasl_passwd\"\n", "not an absolute path"},
		{"smtp_sasl_security_options = [\"noplaintext\", \"forward_secrecy\"]\n", "f:1: smtp_sasl_security_options"},
		{"smtp_sasl_mechanism_filter = [\"cram-md5\"]\n", "the SMTP client has plain and login"},
		{"[services.anvil]\nprocess_limit = 2\n", "anvil runs as one process"},
		{"smtpd_client_event_limit_exceptions = [\"not a net\"]\n", "f:1: smtpd_client_event_limit_exceptions"},
		{"smtpd_client_message_rate_limit = -1\n", "f:1: smtpd_client_message_rate_limit"},
		{"anvil_rate_time_unit = \"0s\"\n", "f:1: anvil_rate_time_unit"},
		{"dkim_signing_keys = [\"example.org sel\"]\n", "f:1: dkim_signing_keys"},
		{"dkim_signing_keys = [\"example.org sel_1 /k\"]\n", "not a selector"},
		{"dkim_signing_keys = [\"example.org sel relative.key\"]\n", "not an absolute path"},
		{"dkim_signing_keys = [\"example.org s /a\", \"Example.org. S /b\"]\n", "selector s twice"},
	} {
		_, err := Parse([]byte(tc.text), "f", testOpt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.text, err, tc.want)
		}
	}
}

// TestSubmissionRequiresAuth: the submission services offer AUTH and
// require it before MAIL; port 25 (smtp) neither offers nor requires it
// unless configured; a service's overrides may relax the requirement;
// requiring AUTH where it is not offered is refused, since no client
// could send.
func TestSubmissionRequiresAuth(t *testing.T) {
	c, err := Parse([]byte("smtpd_tls_cert_file = \"/c.pem\"\nsmtpd_tls_key_file = \"/k.pem\"\n"), "f", testOpt)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		name           string
		offer, require bool
	}{{"smtp", false, false}, {"submission", true, true}, {"submissions", true, true}} {
		p := c.Service(s.name).Params
		if p.SMTPDSASLAuthEnable != s.offer || p.SMTPDSASLAuthRequired != s.require || !p.SMTPDSenderLoginCheck {
			t.Errorf("%s: smtpd_sasl_auth_enable = %v, smtpd_sasl_auth_required = %v, smtpd_sender_login_check = %v; want %v, %v, true",
				s.name, p.SMTPDSASLAuthEnable, p.SMTPDSASLAuthRequired, p.SMTPDSenderLoginCheck, s.offer, s.require)
		}
	}
	c, err = Parse([]byte("[services.submission]\nenabled = true\n[services.submission.overrides]\nsmtpd_sasl_auth_required = false\n"), "f", testOpt)
	if err != nil {
		t.Fatal(err)
	}
	if p := c.Service("submission").Params; p.SMTPDSASLAuthRequired || !p.SMTPDSASLAuthEnable {
		t.Errorf("submission with auth relaxed: required %v, enabled %v", p.SMTPDSASLAuthRequired, p.SMTPDSASLAuthEnable)
	}
	for _, text := range []string{
		"smtpd_sasl_auth_required = true\n",
		"[services.submission]\nenabled = true\n[services.submission.overrides]\nsmtpd_sasl_auth_enable = false\n",
	} {
		if _, err := Parse([]byte(text), "f", testOpt); err == nil || !strings.Contains(err.Error(), "smtpd_sasl_auth_required: needs smtpd_sasl_auth_enable") {
			t.Errorf("%q: err = %v", text, err)
		}
	}
	if _, err := Parse([]byte("smtpd_sender_login_maps = [\"senders\"]\n"), "f", testOpt); err == nil || !strings.Contains(err.Error(), "not an absolute path") {
		t.Errorf("relative smtpd_sender_login_maps: err = %v", err)
	}
}

func TestExpansion(t *testing.T) {
	text := `
myhostname = "h.example.net"
myorigin = "${mydomain}"
mydestination = ["$myhostname", "$$literal", "$unknown"]
`
	c, err := Parse([]byte(text), "f", testOpt)
	if err != nil {
		t.Fatal(err)
	}
	if c.MyOrigin != "example.net" {
		t.Errorf("myorigin = %q", c.MyOrigin)
	}
	if got := strings.Join(c.MyDestination, ","); got != "h.example.net,$$literal,$unknown" {
		t.Errorf("mydestination = %q", got)
	}
	if c.ForwardPath[0] != "$home/.forward" {
		t.Errorf("forward_path = %q", c.ForwardPath)
	}
	_, err = Parse([]byte("myorigin = \"$mydomain\"\nmydomain = \"$myorigin\"\n"), "f", testOpt)
	if err == nil {
		t.Error("a $name loop was accepted")
	}
}

// TestLoginServices: the IMAP and POP3 services ship disabled; imaps
// and pop3s speak TLS from the first byte and, enabled, need a
// certificate; the session services keep setuid and setgid.
func TestLoginServices(t *testing.T) {
	c, err := Parse([]byte(""), "f.toml", testOpt)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"imap", "imaps", "pop3", "pop3s", "imap-session", "pop3-session"} {
		s := c.Service(name)
		if s == nil || s.Enabled {
			t.Errorf("service %s: %+v, want it disabled", name, s)
		}
	}
	if !c.Service("imaps").Params.LoginTLSWrapperMode || c.Service("imap").Params.LoginTLSWrapperMode {
		t.Error("imaps should, imap should not, have login_tls_wrappermode")
	}
	if s := c.Service("imap-session"); len(s.Args) != 1 || s.Args[0] != "session" || len(s.Capabilities) != 2 {
		t.Errorf("imap-session: %+v", s)
	}
	_, err = Parse([]byte("[services.imaps]\nenabled = true\n"), "f.toml", testOpt)
	if err == nil || !strings.Contains(err.Error(), "login_tls_wrappermode") {
		t.Errorf("imaps without a certificate: %v", err)
	}
	const cert = "smtpd_tls_cert_file = \"/c.pem\"\nsmtpd_tls_key_file = \"/k.pem\"\n"
	_, err = Parse([]byte(cert+"[services.imaps]\nenabled = true\n"), "f.toml", testOpt)
	if err == nil || !strings.Contains(err.Error(), "service imaps needs the service imap-session") {
		t.Errorf("imaps without imap-session: %v", err)
	}
	c, err = Parse([]byte(cert+"[services.imaps]\nenabled = true\n[services.imap-session]\nenabled = true\n"), "f.toml", testOpt)
	if err != nil {
		t.Fatalf("imaps with smtpd's certificate: %v", err)
	}
	if c.Service("imaps").Params.LoginTLSCertFile != "/c.pem" {
		t.Errorf("login_tls_cert_file = %q, want smtpd's", c.Service("imaps").Params.LoginTLSCertFile)
	}
}
