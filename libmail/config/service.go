package config

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"postern.dev/postern/libmail/queue"
)

// Service is one row of the service table, Postfix's master.cf: a daemon
// the master runs, the sockets it inherits, and the parameters it sees.
type Service struct {
	Name         string   `toml:"-"`
	Kind         string   `toml:"kind"`          // inet (TCP) or unix (a socket under the spool)
	Listen       []string `toml:"listen"`        // host:port for inet; a path under queue_directory for unix
	Command      string   `toml:"command"`       // program in daemon_directory, or an absolute path
	Args         []string `toml:"args"`          // extra arguments
	User         string   `toml:"user"`          // runs as this user; empty means mail_owner
	ProcessLimit int      `toml:"process_limit"` // processes of this service
	Capabilities []string `toml:"capabilities"`  // Linux capabilities kept when running as root (local needs setuid/setgid)
	Enabled      bool     `toml:"enabled"`

	// Params are the parameters as this service sees them: the global ones
	// with the service's overrides applied and $names expanded.
	Params Params `toml:"-"`
	// Overrides lists the parameters the service overrides, as name=value
	// text, for `postern config show` and for the master's change detection.
	Overrides []string `toml:"-"`
}

// builtinService is a row of the default service table. Overrides are TOML
// text so that they go through the same decoder as the file's.
type builtinService struct {
	Service
	overrides string
}

// builtinServices is the service table used when the file does not say
// otherwise. A [services.NAME] table in the file changes the fields it
// names and keeps the rest; `enabled = false` turns a service off.
func builtinServices() map[string]builtinService {
	return map[string]builtinService{
		"smtp": {Service: Service{Kind: "inet", Listen: []string{":25"}, Command: "smtpd", ProcessLimit: 1, Enabled: true}},
		// The smtpd behind postscreen (postscreen_enable): it takes the
		// clients postscreen passed, descriptors and all, on a Unix socket
		// (Postfix's "smtpd pass" row). It runs only behind a postscreen
		// (applyPostscreen).
		"smtpd": {Service: Service{Kind: "unix", Listen: []string{queue.SMTPDSocket}, Command: "smtpd", ProcessLimit: 1, Enabled: true}},
		// Submission needs a certificate, so it ships disabled, as in
		// Postfix's master.cf; `enabled = true` turns it on. It is for
		// the users' own mail (RFC 6409): AUTH is required before MAIL,
		// as Postfix's master.cf does with permit_sasl_authenticated,reject.
		// The smtp service (port 25) keeps smtpd_sasl_auth_enable's
		// default, false: no AUTH there unless configured.
		"submission": {Service: Service{Kind: "inet", Listen: []string{":587"}, Command: "smtpd", ProcessLimit: 1},
			overrides: "smtpd_sasl_auth_enable = true\nsmtpd_sasl_auth_required = true\n"},
		"submissions": {Service: Service{Kind: "inet", Listen: []string{":465"}, Command: "smtpd", ProcessLimit: 1},
			overrides: "smtpd_tls_wrappermode = true\nsmtpd_sasl_auth_enable = true\nsmtpd_sasl_auth_required = true\n"},
		// Mailbox access, split as Dovecot splits it (imapd(8), pop3d(8)):
		// the login processes talk to clients that have not logged in and
		// run as mail_owner like the other daemons; the session services
		// check the credentials and start each session as the mailbox's
		// owner, so they keep setuid and setgid as local does. They need a
		// certificate (passwords only over TLS), so they ship disabled;
		// enable a protocol's login services and its session service.
		"imap":         {Service: Service{Kind: "inet", Listen: []string{":143"}, Command: "imapd", ProcessLimit: 1}},
		"imaps":        {Service: Service{Kind: "inet", Listen: []string{":993"}, Command: "imapd", ProcessLimit: 1}, overrides: "login_tls_wrappermode = true\n"},
		"imap-session": {Service: Service{Kind: "unix", Listen: []string{"private/imap-session"}, Command: "imapd", Args: []string{"session"}, ProcessLimit: 1, Capabilities: []string{"setuid", "setgid"}}},
		"pop3":         {Service: Service{Kind: "inet", Listen: []string{":110"}, Command: "pop3d", ProcessLimit: 1}},
		"pop3s":        {Service: Service{Kind: "inet", Listen: []string{":995"}, Command: "pop3d", ProcessLimit: 1}, overrides: "login_tls_wrappermode = true\n"},
		"pop3-session": {Service: Service{Kind: "unix", Listen: []string{"private/pop3-session"}, Command: "pop3d", Args: []string{"session"}, ProcessLimit: 1, Capabilities: []string{"setuid", "setgid"}}},
		"qmgr":         {Service: Service{Kind: "unix", Listen: []string{queue.QmgrSocket}, Command: "qmgr", ProcessLimit: 1, Enabled: true}},
		"local":        {Service: Service{Kind: "unix", Listen: []string{queue.LocalSocket}, Command: "local", ProcessLimit: 1, Enabled: true, Capabilities: []string{"setuid", "setgid"}}},
		// The outbound SMTP client. Its name is not "smtp" (as in Postfix's
		// master.cf), because that names the inbound server here.
		"outbound": {Service: Service{Kind: "unix", Listen: []string{queue.SMTPSocket}, Command: "smtp", ProcessLimit: 1, Enabled: true}},
		// The counter behind smtpd's client limits: one process, so that
		// every smtpd counts with the same numbers.
		"anvil": {Service: Service{Kind: "unix", Listen: []string{queue.AnvilSocket}, Command: "anvil", ProcessLimit: 1, Enabled: true}},
		// The queue lister for users who may not read the queue
		// (postern queue list, mailq), as Postfix's showq: its socket is
		// open to every local user (queue.WorldSocket).
		"showq": {Service: Service{Kind: "unix", Listen: []string{queue.ShowqSocket}, Command: "showq", ProcessLimit: 1, Enabled: true}},
		// Takes what sendmail leaves in maildrop/ into the queue; one
		// process, so that no two take the same file.
		"pickup": {Service: Service{Kind: "unix", Listen: []string{queue.PickupSocket}, Command: "pickup", ProcessLimit: 1, Enabled: true}},
	}
}

// PostscreenService is the smtpd service postscreen passes clients to.
const PostscreenService = "smtpd"

// applyPostscreen makes postscreen_enable's change to the service table,
// one switch as Postfix admins flip two rows of master.cf: on, the smtp
// service runs postscreen where it would run smtpd. The smtpd service,
// which takes the clients postscreen passes, runs only when an enabled
// service runs postscreen: with postscreen off, or the smtp service
// disabled, it would wait for nobody.
func (c *Config) applyPostscreen() {
	if smtp := c.Service("smtp"); smtp != nil && c.Params.PostscreenEnable && smtp.Command == "smtpd" {
		smtp.Command = "postscreen"
	}
	pass := c.Service(PostscreenService)
	if pass == nil {
		return
	}
	for _, s := range c.Services {
		if s.Enabled && filepath.Base(s.Command) == "postscreen" {
			return
		}
	}
	pass.Enabled = false
}

// checkPostscreen: an enabled postscreen service needs the smtpd service
// it passes its clients to.
func (c *Config) checkPostscreen() error {
	for _, s := range c.Services {
		if !s.Enabled || filepath.Base(s.Command) != "postscreen" {
			continue
		}
		if ps := c.Service(PostscreenService); ps == nil || !ps.Enabled || ps.Kind != "unix" || len(ps.Listen) == 0 {
			return fmt.Errorf("service %s runs postscreen, which needs the unix service %s: enable it ([services.%s] enabled = true)", s.Name, PostscreenService, PostscreenService)
		}
	}
	return nil
}

// knownCapabilities are the capabilities a service may keep. The list is
// short on purpose: anything more would make a daemon root in disguise.
var knownCapabilities = map[string]bool{"setuid": true, "setgid": true}

func (s *Service) validate() error {
	switch s.Kind {
	case "inet", "unix":
	default:
		return fmt.Errorf("kind %q: want inet or unix", s.Kind)
	}
	if s.Command == "" {
		return fmt.Errorf("no command")
	}
	if s.Enabled && len(s.Listen) == 0 {
		return fmt.Errorf("no listen address")
	}
	if s.ProcessLimit < 1 {
		return fmt.Errorf("process_limit %d: want at least 1", s.ProcessLimit)
	}
	if filepath.Base(s.Command) == "anvil" && s.ProcessLimit != 1 {
		// Two anvils would each count half of the events.
		return fmt.Errorf("process_limit %d: anvil runs as one process", s.ProcessLimit)
	}
	if filepath.Base(s.Command) == "pickup" && s.ProcessLimit != 1 {
		// Two pickups would take the same file twice.
		return fmt.Errorf("process_limit %d: pickup runs as one process", s.ProcessLimit)
	}
	for _, l := range s.Listen {
		if s.Kind == "unix" && (strings.HasPrefix(l, "/") || strings.Contains(l, "..")) {
			return fmt.Errorf("listen %q: a unix socket is a path inside queue_directory", l)
		}
	}
	for _, c := range s.Capabilities {
		if !knownCapabilities[c] {
			return fmt.Errorf("capability %q: only setuid and setgid may be kept", c)
		}
	}
	return nil
}

// sortServices orders services by name so every listing is stable.
func sortServices(ss []*Service) {
	sort.Slice(ss, func(i, j int) bool { return ss[i].Name < ss[j].Name })
}

// unknownService explains a [services.NAME] table that names no built-in
// service and does not define a new one (no kind, no command): most
// likely a misspelling, so the closest built-in name is suggested.
func unknownService(name string, builtin map[string]builtinService) error {
	var names []string
	best, bestDist := "", 3 // suggest only names at most two edits away
	for n := range builtin {
		names = append(names, n)
		if d := editDistance(strings.ToLower(name), n); d < bestDist {
			best, bestDist = n, d
		}
	}
	sort.Strings(names)
	hint := ""
	if best != "" {
		hint = fmt.Sprintf("did you mean %q? ", best)
	}
	return fmt.Errorf("unknown service %q: %sthe built-in services are %s; a new service needs kind and command",
		name, hint, strings.Join(names, ", "))
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
