// Package local is postern's local delivery agent.
//
// # Role
//
// local delivers the recipients of the local domains. It resolves each
// through the aliases files (addresses, lists, :include: files,
// |commands and /files, as aliases(5) describes), virtual accounts and,
// when local_system_users is on, system users and their ~/.forward, with
// recipient_delimiter extensions (user+ext). Mailboxes are Maildirs:
// virtual accounts' under virtual_mailbox_base (written as vmail_user),
// system users' in their home (written by a per-delivery child running as
// that user). Each delivered message gets Return-Path: and Delivered-To:
// headers; a message that already carries Delivered-To: for the same
// recipient is a mail loop and is returned. Addresses an alias sends
// elsewhere are queued again as a new entry, so each is tracked on its
// own.
//
// local records every result in the queue entry (fsynced) before it
// answers qmgr, and removes an entry itself when it delivered all of it,
// so a crash anywhere never sends a message twice to a recipient that
// was recorded as done.
//
// # Runs as
//
// mail_owner. Under a root master it keeps CAP_SETUID and CAP_SETGID and
// nothing else: it uses them to write virtual mailboxes as vmail_user
// (switching only its delivering thread's file-system identity) and to
// start per-delivery children as system users, and to read ~/.forward and
// :include: files as the user who named them (see include.go). Commands
// from an aliases file run as the file's owner, or as default_privs if
// that is root. The processes it starts for users hold no capabilities:
// the daemon package empties the inheritable set as well as the ambient
// one at start.
//
// # Talks to
//
// qmgr through private/local (delivery requests in, results out; wake-ups
// for forwarded mail out through public/qmgr); the spool; mailboxes.
//
// # Files
//
// The queue, aliases (alias_maps), accounts (accounts_file), ~/.forward,
// Maildirs. Manual page: local(8).
package local
