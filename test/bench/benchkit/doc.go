// Package benchkit is what the Go benchmark programs under test/bench
// (bigmsg, deferred) share: a postern sandbox started from the built
// binaries, a process-tree sampler reading /proc, loopback SMTP sinks and
// a streaming SMTP sender. It is for benchmarks and their smoke tests
// only; nothing in the mail system imports it.
//
// Every address it uses is on 127.0.0.1, and it stops only the processes
// it started, by PID (the master, in a session of its own, and at worst
// that session's process group).
package benchkit
