package imap

import (
	"strings"
)

// BaseSubject extracts the base subject (RFC 5256 §2.1) that SORT
// SUBJECT and THREAD compare: encoded words decoded, whitespace
// collapsed, "Re:", "Fwd:", "[list]" and "(fwd)" stripped. reply tells
// whether anything marking a reply or forward was removed.
func BaseSubject(raw string) (base string, reply bool) {
	s := strings.Join(strings.Fields(decodeWords(raw)), " ")
	for {
		// (2) trailing "(fwd)" and whitespace.
		for {
			t := strings.TrimRight(s, " \t")
			if strings.HasSuffix(strings.ToLower(t), "(fwd)") {
				t, reply = t[:len(t)-5], true
			}
			if t == s {
				break
			}
			s = t
		}
		// (3)-(5) leaders and blobs.
		for {
			t, r := stripLeader(s)
			if r {
				reply = true
			}
			if b := stripBlob(t); b != t && b != "" {
				t = b
			}
			if t == s {
				break
			}
			s = t
		}
		// (6) "[fwd: ...]".
		if len(s) >= 6 && strings.EqualFold(s[:5], "[fwd:") && strings.HasSuffix(s, "]") {
			s, reply = strings.TrimSpace(s[5:len(s)-1]), true
			continue
		}
		return s, reply
	}
}

// stripLeader removes one subj-leader: leading whitespace, or blobs
// followed by subj-refwd ("re", "fw", "fwd", an optional blob, ":").
func stripLeader(s string) (string, bool) {
	if t := strings.TrimLeft(s, " \t"); t != s {
		return t, false
	}
	t := s
	for {
		b := stripBlob(t)
		if b == t {
			break
		}
		t = b
	}
	low := strings.ToLower(t)
	var n int
	switch {
	case strings.HasPrefix(low, "re"):
		n = 2
	case strings.HasPrefix(low, "fwd"):
		n = 3
	case strings.HasPrefix(low, "fw"):
		n = 2
	default:
		return s, false
	}
	t = strings.TrimLeft(t[n:], " \t")
	t = stripBlob(t)
	if !strings.HasPrefix(t, ":") {
		return s, false
	}
	return t[1:], true
}

// stripBlob removes one leading subj-blob: "[" *BLOBCHAR "]" *WSP.
func stripBlob(s string) string {
	if !strings.HasPrefix(s, "[") {
		return s
	}
	end := strings.IndexAny(s[1:], "[]")
	if end < 0 || s[1+end] != ']' {
		return s
	}
	return strings.TrimLeft(s[end+2:], " \t")
}
