// Package testkit is what the tests of several packages need alike: a
// test certificate authority for TLS (PKI), a log sink that goroutines
// write while a test reads it (LogBuffer), an in-memory resolver
// (Resolver), a spool with entries in it (MakeSpool, Enqueue), and the
// round trip every IPC fuzz target checks (RoundTrip). One
// copy here replaces the copies the packages' tests had.
//
// # Why in libmail
//
// No program uses it: only tests import it (test/arch would say so of any
// other package). It sits in libmail because the tests of libmail
// packages, of daemons and the end-to-end tests all use it.
package testkit
