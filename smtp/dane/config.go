package dane

import (
	"crypto/tls"
	"slices"
	"strings"
	"time"

	"postern.dev/postern/libmail/dns"
)

// VerifyConnection returns a tls.Config.VerifyConnection hook that runs
// Verify with recs and names at the time now returns, for callers that
// build their own tls.Config (they must also set InsecureSkipVerify, or
// crypto/tls would insist on a WebPKI chain first). now must not be nil.
// recs and names are copied, so the caller may reuse its slices.
func VerifyConnection(recs []dns.TLSA, names []string, now func() time.Time) func(tls.ConnectionState) error {
	recs = slices.Clone(recs)
	names = slices.Clone(names)
	return func(cs tls.ConnectionState) error {
		return Verify(&cs, recs, names, now())
	}
}

// Config returns a client configuration that authenticates the server by
// recs alone: the built-in WebPKI verification is off and Verify decides.
// SNI carries names[0], the MX host name and TLSA base domain (RFC 7672
// §8.1), so that a server with several certificates picks the one its
// TLSA records describe. TLS 1.0 and 1.1 are refused: a peer that
// publishes DANE records is modern enough (RFC 8996). As for
// VerifyConnection, now must not be nil.
func Config(recs []dns.TLSA, names []string, now func() time.Time) *tls.Config {
	c := &tls.Config{
		InsecureSkipVerify: true, // Verify replaces it; see VerifyConnection.
		MinVersion:         tls.VersionTLS12,
		VerifyConnection:   VerifyConnection(recs, names, now),
	}
	if len(names) > 0 {
		c.ServerName = strings.TrimSuffix(names[0], ".")
	}
	return c
}
