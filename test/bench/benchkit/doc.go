// Package benchkit is what the Go benchmark programs under test/bench
// (bigmsg, deferred, idleconns) share: a postern sandbox started from
// the built binaries and the directory it goes in, a process-tree
// sampler, loopback SMTP sinks, a streaming SMTP sender and a program's
// main. Its sub-package procfs, which reads process trees, memory and
// CPU time from /proc, is imapbench's and test/e2e's as well. It is for
// benchmarks, their smoke tests and the end-to-end tests only; nothing
// in the mail system imports it.
//
// Every address it uses is on 127.0.0.1, and it stops only the processes
// it started, by PID (the master, in a session of its own, and at worst
// that session's process group).
package benchkit
