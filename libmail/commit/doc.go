// Package commit makes renames durable: it fsyncs files and directories and
// shares one directory fsync between every caller that is waiting for it
// (group commit).
//
// The queue and the Maildir writer both follow the Maildir discipline: write
// a file under tmp/, fsync it, rename it into place, fsync the directory.
// The last step is the expensive one when many sessions commit at once, and
// it is also the one that can be shared: a single fsync of a directory makes
// every rename that happened before it durable. Dir.Sync therefore never
// returns before an fsync that started after the call, so a caller can
// promise durability as soon as Sync returns, while concurrent callers pay
// for one fsync between them.
package commit
