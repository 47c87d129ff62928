package local

import (
	"strings"
	"time"

	"postern.dev/postern/libmail/config"
)

// Config is what local needs from the parameters. Its fields are named
// for local's reading; each says the parameter it holds.
type Config struct {
	Hostname      string          // myhostname
	SyncMethod    string          // sync_method, for the Maildir writer
	Delimiter     string          // recipient_delimiter
	HomeMailbox   string          // home_mailbox
	ForwardPath   []string        // forward_path
	AllowCommands map[string]bool // allow_mail_to_commands: origins ("alias", "forward", "include") allowed to run commands
	AllowFiles    map[string]bool // allow_mail_to_files
	CommandLimit  time.Duration   // command_time_limit
	Shell         string          // local_command_shell
	DefaultPrivs  string          // default_privs
	VirtualBase   string          // virtual_mailbox_base
	Concurrency   int             // local_delivery_concurrency
	Quota         int64           // mailbox_quota
}

// NewConfig converts the parameters.
func NewConfig(p *config.Params) Config {
	set := func(l []string) map[string]bool {
		m := map[string]bool{}
		for _, v := range l {
			m[strings.ToLower(v)] = true
		}
		return m
	}
	return Config{
		Hostname: p.MyHostname, Delimiter: p.RecipientDelimiter, HomeMailbox: p.HomeMailbox, ForwardPath: p.ForwardPath,
		AllowCommands: set(p.AllowMailToCommands), AllowFiles: set(p.AllowMailToFiles), CommandLimit: p.CommandTimeLimit.D(),
		Shell: p.LocalCommandShell, DefaultPrivs: p.DefaultPrivs, VirtualBase: p.VirtualMailboxBase, Concurrency: p.LocalDeliveryConcurrency,
		Quota: p.MailboxQuota, SyncMethod: p.SyncMethod,
	}
}
