package master

import (
	"slices"
	"testing"

	"postern.dev/postern/libmail/config"
)

// serviceTable is the configuration the reload cases edit: the global
// parameters, a unix service a that overrides one of them, a service b
// and the built-in services. a and b are the lines that complete their
// tables.
func serviceTable(global, a, b string) string {
	return global + `
[services.a]
kind = "unix"
command = "a"
` + a + `
[services.a.overrides]
message_size_limit = 1000
[services.b]
` + b + "\n"
}

const (
	spool   = "queue_directory = \"/var/spool/postern\"\n"
	aListen = "listen = [\"private/a\"]\n"
	bInet   = "kind = \"inet\"\nlisten = [\"127.0.0.1:2525\"]\n"
	bCmd    = "command = \"b\"\n"
)

func parseServices(t *testing.T, text string) map[string]*config.Service {
	t.Helper()
	c, err := config.Parse([]byte(text), "test.toml", config.Options{Hostname: "mail.example.test"})
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	out := map[string]*config.Service{}
	for _, s := range c.Services {
		out[s.Name] = s
	}
	return out
}

// TestReloadDecision: a reload restarts exactly the services whose
// daemons would behave differently (their fingerprint changed: their
// row of the table or any parameter as they see it), and a restarted
// service keeps its sockets unless its kind, addresses or spool changed.
func TestReloadDecision(t *testing.T) {
	for _, tc := range []struct {
		name      string
		global    string // the global parameters
		a, b      string // the rest of a's and b's tables
		restarted []string
		rebound   []string // services that get new sockets
	}{
		{"comments and spacing", "# a comment\n\n" + spool, aListen + "\n# more\n", bInet + bCmd, nil, nil},
		{"args", spool, aListen + "args = [\"-x\"]\n", bInet + bCmd, []string{"a"}, nil},
		{"process_limit", spool, aListen + "process_limit = 2\n", bInet + bCmd, []string{"a"}, nil},
		{"user", spool, aListen, bInet + bCmd + "user = \"nobody\"\n", []string{"b"}, nil},
		{"command", spool, aListen, bInet + "command = \"/usr/local/bin/b\"\n", []string{"b"}, nil},
		{"capabilities", spool, aListen + "capabilities = [\"setuid\"]\n", bInet + bCmd, []string{"a"}, nil},
		{"enabled", spool, aListen + "enabled = true\n", bInet + bCmd, nil, nil},
		{"listen", spool, aListen, "kind = \"inet\"\nlisten = [\"127.0.0.1:2526\"]\n" + bCmd, []string{"b"}, []string{"b"}},
		{"a second address", spool, aListen, "kind = \"inet\"\nlisten = [\"127.0.0.1:2525\", \"[::1]:2525\"]\n" + bCmd, []string{"b"}, []string{"b"}},
		{"kind", spool, aListen, "kind = \"unix\"\nlisten = [\"127.0.0.1:2525\"]\n" + bCmd, []string{"b"}, []string{"b"}},
		{"an override", spool, aListen, bInet + bCmd + "[services.b.overrides]\nsmtpd_timeout = \"10s\"\n", []string{"b"}, nil},
		{"a global parameter", spool + "myhostname = \"other.example.test\"\n", aListen, bInet + bCmd,
			[]string{"a", "anvil", "b", "local", "outbound", "pickup", "qmgr", "showq", "smtp", "smtpd"}, nil},
		{"a global parameter that a overrides", spool + "message_size_limit = 2000\n", aListen, bInet + bCmd,
			[]string{"anvil", "b", "local", "outbound", "pickup", "qmgr", "showq", "smtp", "smtpd"}, nil},
		{"the spool", "queue_directory = \"/srv/spool\"\n", aListen, bInet + bCmd,
			[]string{"a", "anvil", "b", "local", "outbound", "pickup", "qmgr", "showq", "smtp", "smtpd"}, []string{"a", "anvil", "b", "local", "outbound", "pickup", "qmgr", "showq", "smtp", "smtpd"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := parseServices(t, serviceTable(spool, aListen, bInet+bCmd))
			after := parseServices(t, serviceTable(tc.global, tc.a, tc.b))
			var restarted, rebound []string
			for name, old := range before {
				if !old.Enabled {
					continue
				}
				nw := after[name]
				if fingerprint(old) != fingerprint(nw) {
					restarted = append(restarted, name)
				}
				if !sameSockets(old, nw) {
					rebound = append(rebound, name)
				}
			}
			slices.Sort(restarted)
			slices.Sort(rebound)
			if !slices.Equal(restarted, tc.restarted) {
				t.Errorf("restarted %v, want %v", restarted, tc.restarted)
			}
			if !slices.Equal(rebound, tc.rebound) {
				t.Errorf("new sockets for %v, want %v", rebound, tc.rebound)
			}
		})
	}
}

// TestListenerNames: the inherited sockets are named SERVICE.N in
// LISTEN_FDNAMES, colon-separated as systemd does; addresses cannot be
// names, since they may hold colons.
func TestListenerNames(t *testing.T) {
	s := &config.Service{Name: "smtp", Listen: []string{"127.0.0.1:25", "[::1]:25"}}
	if got := listenerNames(s); got != "smtp.0:smtp.1" {
		t.Errorf("LISTEN_FDNAMES=%s, want smtp.0:smtp.1", got)
	}
}

// TestCommandPath: a relative command is in daemon_directory.
func TestCommandPath(t *testing.T) {
	s := &config.Service{Command: "smtpd"}
	s.Params.DaemonDirectory = "/usr/lib/postern"
	if got := commandPath(s); got != "/usr/lib/postern/smtpd" {
		t.Errorf("%s, want /usr/lib/postern/smtpd", got)
	}
	s.Command = "/opt/bin/smtpd"
	if got := commandPath(s); got != "/opt/bin/smtpd" {
		t.Errorf("%s, want /opt/bin/smtpd", got)
	}
}
