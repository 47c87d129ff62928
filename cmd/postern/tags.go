package main

import "strings"

// tagList parses a tag=value list, the form of DKIM key records (RFC
// 6376 §3.2), MTA-STS (RFC 8461 §3.1) and TLS-RPT (RFC 8460 §3) records:
// pairs separated by ";", white space around names and values ignored,
// and inside values too for DKIM's base64 (which the caller strips). ok
// is false when a pair has no "=" or an empty name, or a name comes
// twice (RFC 6376 §3.2 makes that an error); an empty pair (a trailing
// ";") is allowed.
func tagList(s string) (tags map[string]string, ok bool) {
	tags = map[string]string{}
	for _, part := range strings.Split(s, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, v, found := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		if !found || k == "" {
			return nil, false
		}
		if _, dup := tags[k]; dup {
			return nil, false
		}
		tags[k] = strings.TrimSpace(v)
	}
	return tags, true
}

// hasVersion reports whether a TXT record starts with the tag v=version,
// which is how RFC 8461 and RFC 8460 pick their records out of the other
// TXT records at a name.
func hasVersion(txt, version string) bool {
	first, _, _ := strings.Cut(txt, ";")
	k, v, ok := strings.Cut(first, "=")
	return ok && strings.TrimSpace(k) == "v" && strings.TrimSpace(v) == version
}
