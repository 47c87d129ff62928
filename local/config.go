package local

import (
	"strings"
	"time"

	"postern.dev/postern/libmail/config"
)

// Config is what local needs from the parameters.
type Config struct {
	Hostname      string
	Delimiter     string
	HomeMailbox   string
	ForwardPath   []string
	AllowCommands map[string]bool // origins ("alias", "forward", "include") allowed to run commands
	AllowFiles    map[string]bool
	CommandLimit  time.Duration
	Shell         string
	DefaultPrivs  string
	VirtualBase   string
	Concurrency   int
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
		Hostname: p.MyHostname, Delimiter: p.RecipientDelim, HomeMailbox: p.HomeMailbox, ForwardPath: p.ForwardPath,
		AllowCommands: set(p.AllowCommands), AllowFiles: set(p.AllowFiles), CommandLimit: p.CommandTimeLimit.D(),
		Shell: p.CommandShell, DefaultPrivs: p.DefaultPrivs, VirtualBase: p.VirtualMailboxDir, Concurrency: p.DeliveryConcurrent,
	}
}
