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
	// Routes are transport_maps, with each transport resolved to the name
	// of its delivery service; DefaultTransport and LocalTransport too.
	Routes           []config.Route
	DefaultTransport string
	LocalTransport   string
	// Agents maps a transport, the name of a delivery service, to its
	// agent. A transport without a running agent (its service is
	// disabled) defers its recipients until one is there.
	Agents map[string]Agent
}

// Agent is where a transport's delivery agent listens, and whether it is
// local (delivers on this host) or remote (per-destination scheduling).
type Agent struct {
	Path  string
	Local bool
}

// NewConfig converts the parameters and finds the transports in the
// service table: every enabled delivery service (a unix service running
// local or smtp) is a transport of its name, so a second smtp service
// (Postfix's relay beside smtp) is a transport of its own. Transport
// names were checked when the configuration was loaded.
func NewConfig(c *config.Config, p *config.Params) Config {
	q := Config{
		Spool: p.QueueDirectory, LocalDomains: map[string]bool{}, RelayHost: p.RelayHost, Hostname: p.MyHostname,
		ScanInterval: p.IncomingScanDelay.D(), QueueRunDelay: p.QueueRunDelay.D(),
		MinBackoff: p.MinimalBackoff.D(), MaxBackoff: p.MaximalBackoff.D(),
		MaxLifetime: p.MaximalLifetime.D(), BounceLifetime: p.BounceLifetime.D(),
		ActiveLimit: p.ActiveLimit, Agents: map[string]Agent{},
		InitialDestConc: p.InitialDestConc, DestConcLimit: p.DestConcLimit, DestRcptLimit: p.DestRcptLimit,
		DestRateDelay: p.DestRateDelay.D(), FailedCohortLimit: p.FailedCohortLimit, DelayWarning: p.DelayWarningTime.D(),
	}
	service := func(transport string) string {
		if s, err := c.Transport(transport); err == nil {
			return s.Name
		}
		return transport // not a delivery service: its mail is deferred
	}
	q.DefaultTransport, q.LocalTransport = service(p.DefaultTransport), service(p.LocalTransport)
	q.Routes, _ = config.ParseTransportMaps(p.TransportMaps)
	for i := range q.Routes {
		q.Routes[i].Transport = service(q.Routes[i].Transport)
	}
	for _, d := range p.MyDestination {
		q.LocalDomains[strings.ToLower(d)] = true
	}
	for _, s := range c.Services {
		if s.Enabled && s.IsAgent() && len(s.Listen) > 0 {
			q.Agents[s.Name] = Agent{Path: filepath.Join(p.QueueDirectory, s.Listen[0]), Local: s.Agent() == "local"}
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
