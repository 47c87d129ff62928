// Package imapd is the IMAP session: the authenticated and selected
// states (RFC 3501, RFC 9051 and the extensions imapd announces) of a
// client the login front has already authenticated. Serve takes the
// connection and the account's mailbox.Store, and joins the protocol
// layer (imapd/imap) to the store (libmail/mailbox).
//
// # Role
//
// Dovecot splits IMAP into imap-login (the unauthenticated client: TLS,
// STARTTLS, LOGIN and AUTHENTICATE) and an imap process running as the
// mailbox owner. postern splits it the same way: imapd/imaplogin and
// libmail/login do the not-authenticated state and start the session
// process as the owner (cmd/imapd with login.ChildFlag), whose Handoff
// opens the Maildir and calls Serve. Serve answers the login command
// itself ("tag OK [CAPABILITY ...] Logged in"), because only the owner's
// process can open the mailbox.
//
// # Runs as
//
// The mailbox owner: the system user, or vmail_user for virtual
// accounts. It never sees a password and never runs as root.
//
// # Talks to
//
// One authenticated IMAP client, on the connection the login front hands
// over. Nothing else: the mailbox is the files of the account's Maildir,
// through libmail/mailbox, and changes by other sessions and by local
// reach it through the store's Sync and Watch (inotify).
//
// # Files
//
// The account's Maildir: each folder's new/, cur/, tmp/, its index
// (UIDs, UIDVALIDITY, modseqs) and header cache, and the subscriptions.
// Manual page: imapd(8).
//
// # Behaviour
//
// After every command, and while IDLE whenever the folder's Watch
// fires, the session Syncs the selected folder and sends what changed:
// EXPUNGE (VANISHED under QRESYNC), EXISTS, and FETCH FLAGS (with MODSEQ
// under CONDSTORE), so that several sessions on one folder see each
// other. During FETCH, STORE, SEARCH, SORT and THREAD (not their UID
// forms) it does not Sync at all, since EXPUNGE is not allowed then (RFC
// 3501 §7.4.1) and a sync would renumber the snapshot. ENVELOPE, SORT,
// THREAD and header searches on the cached fields read the folder's
// header cache, never the message files; other header items read the
// header only. The idle timeout is 30 minutes (RFC 9051 §5.4), in IDLE
// too.
//
// One concern per file: session.go the connection's life (reading,
// dispatch, timeouts, COMPRESS), handoff.go the entry from
// login.ChildMain, caps.go the capabilities and ENABLE, update.go the
// untagged updates after Sync, mailboxes.go and list.go the commands on
// folders (CREATE ... LIST, STATUS, APPEND, quotas), select.go SELECT,
// EXAMINE, CLOSE and UNSELECT, msgset.go sets to messages, load.go how
// much of a message a command reads, fetch.go FETCH, store.go STORE,
// copy.go COPY, MOVE and EXPUNGE, search.go SEARCH, SORT and THREAD,
// idle.go IDLE.
package imapd
