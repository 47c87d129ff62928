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
//	postern-queue 2
//	size 0000000000005123            stored message length, fixed width (patched after streaming)
//	prepend 0000000000000312         prepended header length, fixed width (patched likewise)
//	arrival 1795441921123456789      envelope: one "key value" line each
//	sender bounce@example.org
//	rcpt user@example.test notify=FAILURE orcpt=rfc822;user@example.test
//	                                 an empty line ends the envelope
//	<the message as streamed, CRLF line ends, exactly size bytes>
//	<the prepended header fields, CRLF line ends, exactly prepend bytes>
//	sent 0 2.0.0 delivered to maildir      trailer: progress records, appended
//
// The message is stored in the form it is sent in, so it is written once
// and read once on the way out. Progress records are appended (O_APPEND)
// and fsynced by whoever makes progress, so a message that was delivered
// to some recipients never goes to them again; a torn last record (power
// loss mid-append) is ignored when read. Values are escaped with %XX for
// bytes up to space, '%' and DEL, so every field is one token.
//
// # Headers decided after the body
//
// Some header fields (Authentication-Results:, DKIM-Signature:) are known
// only once the whole message is in, when it already lies on disk.
// Writer.Prepend takes them; Commit writes them after the message and
// patches their length next to the size, before the one fsync, so they
// are part of the same commit and a crash never leaves an entry in
// incoming/ without them (crash_test.go kills a writer after every step
// of Commit). Every reader of an entry gets the message through one
// accessor, Entry.Message, which reads the prepended fields (held in
// memory, at most MaxPrepend bytes) and then the stored message, and
// Entry.Size is the length of both: agents, bounces and queue tools see
// the same complete message, byte for byte. Facts decided at the same
// moment that are not header fields travel as trailer records written in
// the same commit (Writer.Record): a quarantine record sends the message
// to its recipients' Junk folders.
//
// # Reading and changing the queue from outside
//
// Spool.Scan lists entries as Summary values (Postfix's postqueue -j
// fields), for postern queue list and the showq daemon; Selector picks
// entries by ID, sender, recipient or domain; Shape counts them as
// qshape does. The administrator's changes (admin.go: Hold, Release,
// Requeue, Delete, Expire) work on the files while qmgr runs, each one
// atomic step that qmgr already copes with; admin.go says why that is
// safe. An ExpireRecord in the trailer asks qmgr to return the message.
//
// # Versions
//
// Version 2 (the prepend line) is what postern writes. Version 1 entries,
// which have no prepend line and no prepended header, are still read, so
// a queue survives the upgrade. An older postern reads only version 1 and
// moves a version 2 entry to corrupt/, where nothing is lost but nothing
// is delivered either: drain the queue before going back (or move the
// entries back to incoming/ after upgrading again).

package queue
