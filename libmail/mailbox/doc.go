// Package mailbox is the mailbox store: an account's folders and
// messages as imapd and pop3d serve them and local delivers into them.
// Store and Folder are the interface the protocols use; Open gives the
// Maildir implementation, NewMemory the in-memory one their tests use
// (as go-imap's reference backend), and Deliver is local's delivery step.
//
// # On disk
//
// An account is a Maildir++ directory (the Courier layout Dovecot reads
// too): the root is INBOX, with tmp/, new/ and cur/
// (cr.yp.to/proto/maildir.html), and every other folder is a directory
// beside them named by a dot and the folder's path with '.' between
// levels: "Work/Projects" is root/.Work.Projects, holding its own tmp/,
// new/, cur/ and the maildirfolder marker. The IMAP-visible hierarchy
// delimiter is '/' (Delimiter); '.' is therefore refused in folder names.
// Names are stored as the protocol gives them (IMAP's modified UTF-7), as
// Dovecot stores them.
//
// Messages are files with Unix line ends; flags are in the name after
// ":2," (D draft, F flagged, P passed = $Forwarded, R replied = \Answered,
// S seen, T trashed = \Deleted), and keywords are the letters a-z,
// letter n being line "n name" of the folder's dovecot-keywords file,
// exactly as Dovecot keeps them (so a Maildir can move between the two;
// at most 26 keywords per folder, as there). Names written here carry
// ",S=<size>,W=<size with CRLF>" so that neither quota nor RFC822.SIZE
// needs to read a file. A session that first sees a message in new/
// moves it to cur/.
//
// Each folder has a small index, postern-index, that gives what names
// cannot: stable UIDs, UIDVALIDITY, UIDNEXT, per-message MODSEQ and
// HIGHESTMODSEQ (RFC 7162), the internal date (the file's mtime when
// first seen), the CRLF size, and which UIDs no session has claimed as
// \Recent. Its format is in index.go. It is read and changed under
// flock(2) of postern-index.lock and replaced atomically (temporary file,
// fsync, rename). Every operation first reconciles it with the files
// (skipped, as in Dovecot, when new/ and cur/ carry the mtimes the index
// recorded at its last scan and those are over a second old), so
// what other programs did (local's deliveries into new/, a reader moving
// files to cur/ or renaming them for flags, deleting them) is picked up:
// new files get the next UIDs, in delivery order; changed flags a new
// modseq; vanished files leave the index (and raise HIGHESTMODSEQ). An
// index that is missing or breaks its invariants is rebuilt from the files
// with a new UIDVALIDITY above the old one, the only case in which UIDs
// change, as RFC 3501 §2.3.1.1 allows. A folder with Dovecot's
// dovecot-uidlist and no index adopts its UIDVALIDITY and UIDs once, so
// that a Maildir moving over from Dovecot keeps what clients cached.
// subscriptions at the root lists subscribed folders, one a line.
//
// # Sessions
//
// A Folder is a snapshot: sequence numbers and flags change only by the
// session's own calls and by Sync, which returns what changed (expunges
// in the order to report them, new messages, flag changes) so that imapd
// can send EXPUNGE, EXISTS and FETCH FLAGS in order. Watch gives a
// channel woken by inotify on new/ and cur/ for IDLE. Open streams a
// message with CRLF line ends, OpenHeader only its header section, and
// CachedHeader the fields ENVELOPE needs (CachedFields) from the
// folder's postern-cache file, a cache keyed by file base name that is
// appended to in batches and discarded when it does not parse.
// CachedItem and CacheItem keep what a protocol derives from a message's
// bytes (imapd's rendered ENVELOPE) the same way, one file per item
// (postern-cache.<name>), the item's version on its first line.
//
// # Quota
//
// The account's use is kept in Maildir++'s maildirsize at the root
// (Courier's format, shared with Dovecot's maildir quota): a limit line
// and "<bytes> <count>" lines appended by every change, recounted from the
// files when it grows, ages or is missing. local checks it before writing
// (Deliver returns ErrOverQuota; local defers with 4.2.2), Append and
// Copy refuse with ErrOverQuota, and Store.Quota reports it for
// GETQUOTAROOT. The limit is the mailbox_quota parameter, or an account's
// own "userdb_quota_rule=*:storage=SIZE" in the accounts file's extra
// fields (ParseQuotaRule).
//
// # Why in libmail
//
// local, imapd and pop3d all use it.
package mailbox
