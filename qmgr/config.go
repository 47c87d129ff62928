package qmgr

import (
	"path/filepath"
	"strings"
	"time"

	"postern.dev/postern/libmail/config"
)

// Config is what qmgr needs from the parameters.
type Config struct {
	Spool          string
	LocalDomains   map[string]bool
	RelayHost      string
	Hostname       string
	ScanInterval   time.Duration // incoming/ without a wake-up
	QueueRunDelay  time.Duration // deferred/
	MinBackoff     time.Duration
	MaxBackoff     time.Duration
	MaxLifetime    time.Duration
	BounceLifetime time.Duration
	ActiveLimit    int
	// Per-destination scheduling of remote mail (dest.go).
	InitialDestConc   int
	DestConcLimit     int
	DestRcptLimit     int
	DestRateDelay     time.Duration
	FailedCohortLimit int
	DelayWarning      time.Duration // 0: no delay warnings
	Routes            []config.Route
	// Agents maps a transport ("local", "smtp") to its socket. A transport
	// without an agent defers its recipients until one is configured.
	Agents map[string]string
}

// NewConfig converts the parameters and finds the agents' sockets in the
// service table: the enabled unix service that runs a transport's program.
func NewConfig(c *config.Config, p *config.Params) Config {
	q := Config{
		Spool: p.QueueDirectory, LocalDomains: map[string]bool{}, RelayHost: p.RelayHost, Hostname: p.MyHostname,
		ScanInterval: p.IncomingScanDelay.D(), QueueRunDelay: p.QueueRunDelay.D(),
		MinBackoff: p.MinimalBackoff.D(), MaxBackoff: p.MaximalBackoff.D(),
		MaxLifetime: p.MaximalLifetime.D(), BounceLifetime: p.BounceLifetime.D(),
		ActiveLimit: p.ActiveLimit, Agents: map[string]string{},
		InitialDestConc: p.InitialDestConc, DestConcLimit: p.DestConcLimit, DestRcptLimit: p.DestRcptLimit,
		DestRateDelay: p.DestRateDelay.D(), FailedCohortLimit: p.FailedCohortLimit, DelayWarning: p.DelayWarningTime.D(),
	}
	// Validated when the configuration was loaded.
	q.Routes, _ = config.ParseTransportMaps(p.TransportMaps)
	for _, d := range p.MyDestination {
		q.LocalDomains[strings.ToLower(d)] = true
	}
	for _, s := range c.Services {
		if !s.Enabled || s.Kind != "unix" || len(s.Listen) == 0 {
			continue
		}
		name := filepath.Base(s.Command)
		if name == "local" || name == "smtp" {
			if _, ok := q.Agents[name]; !ok {
				q.Agents[name] = filepath.Join(p.QueueDirectory, s.Listen[0])
			}
		}
	}
	return q
}

// backoff is the wait before attempt n+1 after n attempts: the minimum,
// doubled per attempt, capped at the maximum (Postfix's 300 s to 4000 s).
func (c *Config) backoff(attempts int) time.Duration {
	d := c.MinBackoff
	for i := 1; i < attempts && d < c.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, c.MaxBackoff)
}
