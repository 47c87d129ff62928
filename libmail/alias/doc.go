// Package alias reads the aliases(5) format used by Postfix and sendmail for
// /etc/aliases, and the plain value lists of :include: files and ~/.forward.
//
// An entry is "name: value, value, ...". Blank lines and lines whose first
// non-blank character is '#' are comments. A line that starts with a space
// or a tab continues the entry above it, as aliases(5) describes; comment
// lines between an entry and its continuation do not end the entry.
//
// Names and addresses follow RFC 5322 section 3.4.1 for the local part: a run
// of atext characters and dots, or a quoted-string, optionally followed by
// "@domain". Non-ASCII bytes are allowed where atext is, as RFC 6531 section
// 3.3 allows. Outside quotes a backslash quotes the next character, as the
// obsolete local-part syntax of RFC 5322 section 4.4 does, so "\root" is the
// address root: like Postfix, this package leaves loop prevention to the
// delivery agent instead of giving the backslash a meaning of its own.
//
// Every name and every address value is kept in one canonical form so that
// a value can be looked up as a name when aliases are expanded recursively:
// the local part is written bare when it consists of atext and dots and does
// not start with '|', '/' or '#', and as a quoted-string otherwise. Names are
// also folded to lower case, because aliases(5) says they are
// case-insensitive; address values keep their case, because RFC 5321
// section 2.4 leaves the meaning of a remote local part's case to the remote
// host. Table.Lookup accepts a name either in that canonical form or with
// the local part unquoted.
//
// A value is one of four kinds (see Kind):
//
//	user, user@example.test, "john doe"@example.test   an address
//	:include:/etc/mail/staff                          more values from a file
//	|/usr/bin/prog -x   or   "|/usr/bin/prog -x"      a command
//	/var/mail/archive                                 a file to append to
//
// File and include paths must be absolute. A path that contains white
// space, a quote or a backslash must be written inside double quotes, and
// so must a command that contains a comma. Inside double quotes a backslash
// quotes the next character (RFC 5322 quoted-pair), so the quoted command
// "|prog a\\b" runs prog with the argument a\b. An unquoted command keeps
// its text exactly as written after the '|', quotes included, up to the
// next comma outside quotes. A value wholly inside double quotes is
// classified by what the quotes hold, which is how aliases(5) writes
// commands and paths with spaces; "user@example.test" in quotes is
// therefore a local part holding an '@', as in RFC 5322, not a remote
// address. A local address without a domain that would read as a command,
// file or include (such as \/x) is an error, because it could not be
// written back. Display names and angle brackets ("Joe <joe@x>") are not
// accepted.
//
// Parsing never stops at the first problem: every problem is reported as a
// *ParseError naming the file and line, and the caller decides what is
// fatal. An entry with any error is left out of the table whole, so that a
// half-understood entry never delivers to only some of its recipients. A
// name defined twice keeps its first definition and the later one is
// reported with ErrDuplicate, which IsWarning recognises; this follows
// postalias(1), which warns about duplicates rather than failing.
package alias
