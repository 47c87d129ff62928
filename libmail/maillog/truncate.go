package maillog

import "unicode/utf8"

// Truncated marks a text that was cut: a remote server's reply, a
// command's output, anything of someone else's making that postern quotes
// in log lines, queue records and bounces, and so bounds.
const Truncated = "..."

// Truncate returns s if it is at most n bytes long, else its longest
// prefix that, with Truncated appended, is at most n bytes (n is at
// least len(Truncated)), cut between UTF-8 characters when s is UTF-8
// there.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := max(n-len(Truncated), 0)
	// If the cut falls inside a UTF-8 character, cut before it instead.
	for start := cut; start > 0 && start > cut-utf8.UTFMax; start-- {
		if utf8.RuneStart(s[start]) {
			if _, size := utf8.DecodeRuneInString(s[start:]); size > 1 && start+size > cut && start < cut {
				cut = start
			}
			break
		}
	}
	return s[:cut] + Truncated
}
