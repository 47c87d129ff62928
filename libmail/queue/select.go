package queue

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"postern.dev/postern/libmail/address"
)

// Selector says which entries an admin command acts on: by queue ID
// (Postfix's postsuper arguments, ALL among them), by sender, by
// recipient or by recipient domain. Criteria of different kinds must all
// match; within a kind, any one of them. A Selector with no criterion
// selects nothing, so that "postern queue delete" without arguments
// deletes nothing (use All).
type Selector struct {
	All        bool
	IDs        map[ID]bool
	Senders    []string // "" or "<>" selects the null sender
	Recipients []string
	Domains    []string
}

// Empty reports whether the selector has no criterion at all.
func (s *Selector) Empty() bool {
	return !s.All && s.IDs == nil && s.Senders == nil && s.Recipients == nil && s.Domains == nil
}

// AddID adds a queue ID, or ALL; anything else is an error that names it.
func (s *Selector) AddID(arg string) error {
	if arg == "ALL" {
		s.All = true
		return nil
	}
	id, err := ParseID(strings.TrimSpace(arg))
	if err != nil {
		return err
	}
	if s.IDs == nil {
		s.IDs = map[ID]bool{}
	}
	s.IDs[id] = true
	return nil
}

// ReadIDs adds the IDs read from r, one a line, as postsuper reads them
// for the argument "-". Empty lines are skipped.
func (s *Selector) ReadIDs(r io.Reader) error {
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if err := s.AddID(line); err != nil {
			return fmt.Errorf("standard input line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read queue IDs: %w", err)
	}
	if s.IDs == nil && !s.All {
		// "-" with nothing on standard input selects nothing, but it
		// was a selection.
		s.IDs = map[ID]bool{}
	}
	return nil
}

// Match reports whether an entry's summary is selected.
func (s *Selector) Match(sum *Summary) bool {
	if s.Empty() {
		return false
	}
	if s.IDs != nil && !s.IDs[sum.ID] {
		return false
	}
	if s.Senders != nil && !anyEqual(s.Senders, sum.Sender, sameAddr) {
		return false
	}
	if s.Recipients != nil && !anyRcpt(sum, func(a string) bool { return anyEqual(s.Recipients, a, sameAddr) }) {
		return false
	}
	if s.Domains != nil && !anyRcpt(sum, func(a string) bool {
		_, d := address.Split(a)
		return anyEqual(s.Domains, d, sameDomain)
	}) {
		return false
	}
	return true
}

func anyEqual(want []string, got string, eq func(a, b string) bool) bool {
	for _, w := range want {
		if eq(w, got) {
			return true
		}
	}
	return false
}

// anyRcpt reports whether a recipient of the entry matches. Recipients
// already done count too: an admin looking for the mail to a domain
// means every message that went there.
func anyRcpt(sum *Summary, match func(string) bool) bool {
	for _, r := range sum.Recipients {
		if match(r.Address) {
			return true
		}
	}
	return false
}

// sameAddr compares addresses as mail does: the domain without regard to
// case, and here the local part too, since the admin types it. "<>"
// names the null sender.
func sameAddr(want, got string) bool {
	if want == "<>" {
		want = ""
	}
	return strings.EqualFold(strings.Trim(want, "<>"), got)
}

// sameDomain compares domains without regard to case or a trailing dot.
func sameDomain(want, got string) bool {
	return strings.EqualFold(strings.TrimSuffix(strings.TrimPrefix(want, "@"), "."), strings.TrimSuffix(got, "."))
}
