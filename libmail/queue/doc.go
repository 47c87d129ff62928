// Package queue is postern's on-disk mail queue: the spool layout, queue
// IDs, the entry format and the commit protocol.
//
// # Layout
//
// Under the spool root (queue_directory), a queue entry is one file named
// by its queue ID in exactly one of these directories:
//
//	tmp/       being written; never read by anyone but its writer
//	incoming/  committed, not yet taken by the queue manager
//	active/    taken by the queue manager; moved back to incoming/ when it restarts
//	deferred/  waiting for a retry; the file's mtime is the next attempt time
//	hold/      held by the administrator
//	corrupt/   unreadable entries, kept for a human; never deleted automatically
//
// # The commit invariant
//
// A file appears in incoming/ only by rename(2) from tmp/ after its data
// was fsynced, and the writer reports success (the SMTP 250) only after
// the directory holding the new name was fsynced too. Concurrent writers
// share that directory fsync (see package commit). A crash at any instant
// therefore loses nothing that was acknowledged; at worst a message is
// delivered twice.
//
// # Entry format
//
// An entry is text up to the message, so an admin can read it with less:
//
//	postern-queue 1
//	size 0000000000005123            message length, fixed width (patched after streaming)
//	arrival 1795441921123456789      envelope: one "key value" line each
//	sender bounce@example.org
//	rcpt user@example.test notify=FAILURE orcpt=rfc822;user@example.test
//	                                 an empty line ends the envelope
//	<the message, CRLF line ends, exactly size bytes>
//	sent 0 2.0.0 delivered to maildir      trailer: progress records, appended
//
// The message is stored in the form it is sent in, so it is written once
// and read once on the way out. Progress records are appended (O_APPEND)
// and fsynced by whoever makes progress, so a message that was delivered
// to some recipients never goes to them again; a torn last record (power
// loss mid-append) is ignored when read. Values are escaped with %XX for
// bytes up to space, '%' and DEL, so every field is one token.
package queue
