package imap

import "strings"

// The untagged responses every session sends, so that their syntax is
// written once. Others are built with the Writer's chain.

// Capability writes "* CAPABILITY ...".
func (w *Writer) Capability(caps []string) error {
	return w.Untagged().Atom("CAPABILITY " + strings.Join(caps, " ")).End()
}

// Enabled writes "* ENABLED ..." (RFC 5161), also when none was enabled.
func (w *Writer) Enabled(caps []string) error {
	w.Untagged().Atom("ENABLED")
	for _, c := range caps {
		w.SP().Atom(c)
	}
	return w.End()
}

// Exists writes "* n EXISTS".
func (w *Writer) Exists(n uint32) error {
	return w.Untagged().Number(uint64(n)).Atom(" EXISTS").End()
}

// Expunge writes "* n EXPUNGE".
func (w *Writer) Expunge(seq uint32) error {
	return w.Untagged().Number(uint64(seq)).Atom(" EXPUNGE").End()
}

// Vanished writes "* VANISHED [(EARLIER)] uids" (RFC 7162 §3.2.10), for a
// QRESYNC session instead of EXPUNGE.
func (w *Writer) Vanished(uids []uint32, earlier bool) error {
	w.Untagged().Atom("VANISHED ")
	if earlier {
		w.Atom("(EARLIER) ")
	}
	return w.Set(SetOf(uids)).End()
}

// ListEntry is one mailbox of a LIST or LSUB response.
type ListEntry struct {
	Name  string   // UTF-8; written in the client's encoding
	Attrs []string // \HasChildren, \Subscribed, \Sent, ...
	Delim byte     // 0 for none (NIL)
	// ChildInfo is RFC 5258's CHILDINFO extended data, e.g.
	// ["SUBSCRIBED"] for RECURSIVEMATCH; nil for none.
	ChildInfo []string
}

// List writes "* LIST (attrs) "/" name" (resp "LIST" or "LSUB").
func (w *Writer) List(resp string, e *ListEntry) error {
	w.Untagged().Atom(resp + " ").Flags(e.Attrs).SP()
	if e.Delim == 0 {
		w.Atom("NIL")
	} else {
		w.String(string(e.Delim))
	}
	w.SP().Mailbox(e.Name)
	if e.ChildInfo != nil {
		w.Atom(` ("CHILDINFO" (`)
		for i, c := range e.ChildInfo {
			if i > 0 {
				w.SP()
			}
			w.String(c)
		}
		w.Atom("))")
	}
	return w.End()
}

// StatusItem is one item of a STATUS response.
type StatusItem struct {
	Name  string // MESSAGES, UIDNEXT, ...
	Value uint64
}

// StatusResponse writes "* STATUS name (item value ...)".
func (w *Writer) StatusResponse(mailbox string, items []StatusItem) error {
	w.Untagged().Atom("STATUS ").Mailbox(mailbox).Atom(" (")
	for i, it := range items {
		if i > 0 {
			w.SP()
		}
		w.Atom(it.Name).SP().Number(it.Value)
	}
	return w.Close().End()
}
