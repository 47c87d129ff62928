// Package pickup takes local submissions into the queue: what sendmail
// leaves in maildrop/ (package maildrop), after Postfix's pickup(8).
//
// # Role
//
// For each file in maildrop/ pickup opens it as a hostile file
// (maildrop.Open), decides the sender, and writes the message into a
// queue entry through libmail/intake, the same step smtpd takes: LF line
// ends become CRLF, a Received: field names the submitter's user ID,
// Date:, Message-ID: and From: are added where missing, and the message
// is DKIM-signed when a key for its From: domain exists (local mail is
// mail the server vouches for). Only once the entry is committed is the
// file removed, so a crash in between queues the message twice, never
// loses it. qmgr is woken for each new entry.
//
// # Trust
//
// The submitter is the file's owner (fstat), never what the file says.
// The sender is LOGIN@$myorigin; a sender given with sendmail -f is kept
// only when LOGIN is in sendmail_trusted_users (root and mail_owner by
// default) or the file belongs to the user pickup runs as, otherwise it is
// replaced and a warning logged. A file that is no submission (a link,
// a FIFO, a malformed envelope, an unknown owner, a message intake
// refuses) is moved to corrupt/ as maildrop.NAME, or removed when it is
// not a regular file, with a log line naming it and its owner.
//
// # Runs as
//
// mail_owner, one process (process_limit 1, so no two take one file).
//
// # Talks to
//
// sendmail, which connects to public/pickup after each submission (the
// connection is the whole message: "look"); qmgr, woken through
// public/qmgr. pickup also looks at start and every
// pickup_scan_interval, so mail left while it was down, or whose
// wake-up was lost, is taken in.
//
// # Files
//
// queue_directory/maildrop/ (read, files removed), incoming/ (through
// intake), corrupt/. Manual page: pickup(8).
package pickup
