// Package maildrop is the format and the directory discipline of
// maildrop/, where sendmail leaves local submissions for pickup: the
// writer sendmail uses and the reader pickup uses, in one place, so the
// two sides cannot drift apart.
//
// # The directory
//
// maildrop/ under queue_directory belongs to mail_owner with mode 1733:
// every local user may create files there, nobody but mail_owner may
// list it, and the sticky bit keeps users from removing or renaming each
// other's files. A writer (Create) makes "tmp.RANDOM", writes the file,
// fsyncs it, and renames it to its final name, 32 random hex digits, and
// fsyncs the directory (File.Commit): pickup sees only complete files,
// and the unguessable name, in a directory others cannot list, keeps
// other users from opening a submission even though its mode lets
// mail_owner (a different user) read it.
//
// # The file
//
// Text up to the message, then the message as the user gave it (lines
// ending in LF or CRLF; pickup stores CRLF):
//
//	postern-maildrop 1
//	sender "alice@example.org"       -f/-r, if given (empty: the null sender)
//	fullname "Alice Example"         -F, if given
//	envid "x123"                     -V, if given
//	ret "FULL"                       -R, if given
//	body "8BITMIME"                  -B, if given
//	rcpt "bob@example.org"           one line per recipient, at least one
//	rcpt "carol" "SUCCESS,DELAY"     with its NOTIFY (-N, or RCPT's under -bs)
//	                                 an empty line ends the envelope
//	<the message>
//
// Values are Go quoted strings (strconv.Quote), so any byte survives
// and every line is one line.
//
// # Hostile files
//
// Whoever can run sendmail can write anything into maildrop/, so the
// reader (Open) trusts nothing in a file: it opens without following
// symbolic links and without blocking on a FIFO, wants a regular file
// with one link, takes the submitter from the file's owner (fstat), not
// from its contents, bounds every envelope line (MaxLine), the number of
// recipients (MaxRecipients) and the message (the caller's limit,
// message_size_limit), and refuses any line it does not know. The
// sender a file names is only a request: pickup keeps it only for
// trusted users.
//
// # Why in libmail
//
// Two programs, sendmail (the writer) and pickup (the reader), share it.
package maildrop
