package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// validateMetrics checks metrics_listen: host:port, and a loopback host
// unless metrics_allow_remote says otherwise (the endpoint has no
// authentication and its counts say who mails whom).
func validateMetrics(p *Params) error {
	if p.MetricsDomainLimit < 1 {
		return &paramError{"metrics_domain_limit", fmt.Errorf("%d: want at least 1", p.MetricsDomainLimit)}
	}
	if p.MetricsListen == "" {
		return nil
	}
	if err := CheckMetricsListen(p.MetricsListen, p.MetricsAllowRemote); err != nil {
		return &paramError{"metrics_listen", err}
	}
	return nil
}

// CheckMetricsListen checks a metrics_listen address.
func CheckMetricsListen(addr string, allowRemote bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: want host:port: %w", addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: bad port %q", addr, port)
	}
	if allowRemote {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return errors.New(addr + ": not a loopback address; set metrics_allow_remote = true to serve metrics beyond this host")
	}
	return nil
}
