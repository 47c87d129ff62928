// Package dnstest runs a DNS server on loopback for tests: it answers
// from records loaded as zone-file text, plays a validating resolver
// for names marked secure (the AD bit), and can be told to fail or
// stall for a name, so that nothing in a test ever asks the real DNS.
//
// It answers like an authoritative server that also chases CNAMEs
// through its own data: NXDOMAIN for names that do not exist, NODATA
// (NOERROR, empty answer, SOA in authority if one encloses the name) for
// names that exist only with other types or only as the parent of other
// names. There are no wildcards, delegations or DNSSEC records.
//
// # Why in libmail
//
// No program uses it: it serves the tests of several packages (libmail/dns,
// smtp, the end-to-end tests), which all need the same loopback DNS, so it
// sits beside the resolver it tests against.
package dnstest
