package config

import (
	"strings"
	"testing"
)

func TestCheckMetricsListen(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		remote bool
		want   string // "" for accepted
	}{
		{"127.0.0.1:9154", false, ""},
		{"[::1]:9154", false, ""},
		{"localhost:9154", false, ""},
		{"127.0.0.2:0", false, ""},
		{"0.0.0.0:9154", false, "not a loopback address"},
		{":9154", false, "not a loopback address"},
		{"192.0.2.1:9154", false, "not a loopback address"},
		{"metrics.example.org:9154", false, "not a loopback address"},
		{"192.0.2.1:9154", true, ""},
		{"127.0.0.1", false, "want host:port"},
		{"127.0.0.1:http", false, "bad port"},
		{"127.0.0.1:70000", true, "bad port"},
	} {
		err := CheckMetricsListen(tc.addr, tc.remote)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s (remote %v): %v", tc.addr, tc.remote, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s (remote %v): err = %v, want %q", tc.addr, tc.remote, err, tc.want)
		}
	}
}

func TestMetricsParams(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"metrics_listen = \"0.0.0.0:9154\"\n", "f:1: metrics_listen"},
		{"metrics_domain_limit = 0\n", "f:1: metrics_domain_limit"},
	} {
		_, err := Parse([]byte(tc.text), "f", testOpt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.text, err, tc.want)
		}
	}
	c, err := Parse([]byte("metrics_listen = \"0.0.0.0:9154\"\nmetrics_allow_remote = true\n"), "f", testOpt)
	if err != nil {
		t.Fatal(err)
	}
	if c.MetricsListen != "0.0.0.0:9154" || c.MetricsDomainLimit != 100 {
		t.Errorf("metrics_listen %q, metrics_domain_limit %d", c.MetricsListen, c.MetricsDomainLimit)
	}
}
