package qmgr

import (
	"path/filepath"
	"strings"
	"time"

	"postern.dev/postern/libmail/config"
)

// Config is what qmgr needs from the parameters. Its fields are named for
// qmgr's reading; each says the parameter it holds.
type Config struct {
	Spool          string          // queue_directory
	LocalDomains   map[string]bool // mydestination
	RelayHost      string          // relayhost
	Hostname       string          // myhostname
	ScanInterval   time.Duration   // qmgr_scan_interval: incoming/ without a wake-up
	QueueRunDelay  time.Duration   // queue_run_delay: deferred/
	MinBackoff     time.Duration   // minimal_backoff_time
	MaxBackoff     time.Duration   // maximal_backoff_time
	MaxLifetime    time.Duration   // maximal_queue_lifetime
	BounceLifetime time.Duration   // bounce_queue_lifetime
	ActiveLimit    int             // qmgr_message_active_limit
	// Per-destination scheduling of remote mail (dest.go).
	InitialDestConc   int           // initial_destination_concurrency
	DestConcLimit     int           // default_destination_concurrency_limit
	DestRcptLimit     int           // default_destination_recipient_limit
	DestRateDelay     time.Duration // default_destination_rate_delay
	FailedCohortLimit int           // default_destination_concurrency_failed_cohort_limit
	DelayWarning      time.Duration // delay_warning_time; 0: no delay warnings
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
		ScanInterval: p.QmgrScanInterval.D(), QueueRunDelay: p.QueueRunDelay.D(),
		MinBackoff: p.MinimalBackoffTime.D(), MaxBackoff: p.MaximalBackoffTime.D(),
		MaxLifetime: p.MaximalQueueLifetime.D(), BounceLifetime: p.BounceQueueLifetime.D(),
		ActiveLimit: p.QmgrMessageActiveLimit, Agents: map[string]Agent{},
		InitialDestConc: p.InitialDestinationConcurrency, DestConcLimit: p.DefaultDestinationConcurrencyLimit, DestRcptLimit: p.DefaultDestinationRecipientLimit,
		DestRateDelay: p.DefaultDestinationRateDelay.D(), FailedCohortLimit: p.DefaultDestinationConcurrencyFailedCohortLimit, DelayWarning: p.DelayWarningTime.D(),
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
