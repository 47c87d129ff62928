// Package metrics is what the daemons count for the master's Prometheus
// endpoint, and how the counts travel and add up.
//
// Each daemon keeps a Set (daemon.Env.Metrics): counters and histograms
// in memory, named by the table in desc.go, changed with a mutex held
// for a few nanoseconds per event. The master asks for a Snapshot over
// the status socket it shares with each process (the line "METRICS?";
// the answer is "METRICS " and one line of JSON, see wire.go) whenever
// /metrics is scraped, and the daemon also sends one as it exits. The
// master keeps the last snapshot of every live process and, when a
// process ends, adds its last snapshot to what dead processes reported
// (Total), so the counts only grow while the master runs, however often
// a daemon restarts.
//
// Label values that come from the outside (destination domains) are
// capped: a Set admits at most DomainLimit distinct domains and counts
// the rest as "other", and Total caps the merged set again, so one
// process or a sequence of them cannot make the series unbounded.
//
// A nil *Set counts nothing, so code and tests that have no master to
// report to pass nil.
package metrics
