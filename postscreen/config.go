package postscreen

import (
	"fmt"
	"time"

	"postern.dev/postern/libmail/config"
)

// Config is what postscreen is told, from the postscreen_* parameters.
type Config struct {
	GreetBanner  string // the 220- line's text; empty sends none
	GreetWait    time.Duration
	GreetEnforce bool // a pregreeting client is refused (not only logged)
	Sites        []config.DNSBLSite
	Threshold    int
	AllowScore   int  // a score at or below this passes at once; 0 is off
	DNSBLEnforce bool // a listed client is refused (not only logged)
	CacheTTL     time.Duration
	CacheLimit   int
	Access       []config.AccessRule
	ClientLimit  int    // connections from one address; 0 is no limit
	ConnLimit    int    // clients held at once
	PassSocket   string // the smtpd service's socket, an absolute path
}

// NewConfig reads the postscreen parameters; passSocket is where the
// smtpd service listens.
func NewConfig(p *config.Params, passSocket string) (Config, error) {
	sites, err := config.ParseDNSBLSites(p.PostscreenDNSBLSites)
	if err != nil {
		return Config{}, fmt.Errorf("postscreen_dnsbl_sites: %w", err)
	}
	access, err := config.ParseAccessList(p.PostscreenAccessList, p.MyNetworks)
	if err != nil {
		return Config{}, fmt.Errorf("postscreen_access_list: %w", err)
	}
	return Config{
		GreetBanner: p.PostscreenGreetBanner, GreetWait: p.PostscreenGreetWait.D(),
		GreetEnforce: p.PostscreenGreetAction == "enforce",
		Sites:        sites, Threshold: p.PostscreenDNSBLThreshold, AllowScore: p.PostscreenDNSBLAllowlistThreshold,
		DNSBLEnforce: p.PostscreenDNSBLAction == "enforce",
		CacheTTL:     p.PostscreenCacheTTL.D(), CacheLimit: p.PostscreenCacheLimit,
		Access: access, ClientLimit: p.PostscreenClientConnectionCountLimit, ConnLimit: p.PostscreenConnectionLimit,
		PassSocket: passSocket,
	}, nil
}
