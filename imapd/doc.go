// Package imapd is imapd's authenticated and selected states (RFC 3501,
// RFC 9051 and the extensions imapd announces): the session process the
// login front hands a client to, as the mailbox's owner. It joins the
// protocol layer (imapd/imap) to the mailbox store (libmail/mailbox).
//
// One concern per file: session.go the connection's life (reading,
// dispatch, timeouts), handoff.go the entry from login.ChildMain,
// caps.go the capabilities and ENABLE, update.go the untagged updates
// after Sync, mailboxes.go the commands on folders (CREATE ... LIST,
// STATUS, APPEND, quotas), select.go SELECT and friends, msgset.go sets
// to messages, fetch.go FETCH, store.go STORE, copy.go COPY, MOVE and
// EXPUNGE, search.go SEARCH, SORT and THREAD, idle.go IDLE.
package imapd
