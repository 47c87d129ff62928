// Package mtasts discovers and caches MTA-STS policies (RFC 8461) for the
// smtp delivery agent.
//
// A recipient domain announces a policy with a TXT record at
// _mta-sts.<domain> whose id changes whenever the policy does, and serves
// the policy itself over HTTPS from mta-sts.<domain>. The Fetcher looks
// the record up on every delivery attempt, fetches the policy only when
// the id is new, and keeps policies in memory for their max_age, so that
// an attacker who strips the TXT record or blocks the HTTPS fetch cannot
// make the agent forget a policy it already holds (RFC 8461 §5.1).
//
// The agent then uses Policy.Match to check each MX host against the
// policy, and in enforce mode requires a PKIX-valid certificate for it.
// The package talks only through the resolver and HTTP client it is
// given.
package mtasts
