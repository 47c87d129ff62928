// Package maildir delivers messages into Maildir directories as described
// at cr.yp.to/proto/maildir.html: a message is written to tmp/ under a
// unique name, synced, and renamed into new/, where mail readers pick it
// up. A reader never sees a partial message, because a file appears in
// new/ only once it is complete.
//
// Writer adds what a busy MTA needs on top of that protocol. Unique names
// use the spec's modern form, <seconds>.M<usec>P<pid>Q<n>.<host>, with a
// per-Writer atomic delivery counter, so goroutines never collide. The
// name in new/ carries ",S=<size>,W=<size with CRLF>" (Dovecot's fields), so
// that neither quota nor IMAP's RFC822.SIZE needs to stat or read the file.
// Renames never replace an existing message (renameat2 RENAME_NOREPLACE).
// Directory fsyncs are group-committed through package commit, so many
// concurrent deliveries into one Maildir share one fsync of new/. Message
// bodies are streamed through a pooled 64 KiB buffer while their SMTP
// CRLF line endings are converted to LF, so memory use does not grow with
// message size.
//
// # Why in libmail
//
// It is the writer under libmail/mailbox, the store local, imapd and
// pop3d share: local writes through it (mailbox.Deliver), and the store
// uses it to name the files it appends and copies, so that names from
// both never collide.
package maildir
