package mtasts

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxBody is the size limit of a policy file. RFC 8461 §3.3 lets senders
// set one to bound the work an attacker-chosen server can cause; 64 KiB
// is far beyond any real policy.
const MaxBody = 64 << 10

// MaxAge is the longest max_age a policy may state (RFC 8461 §3.2).
const MaxAge = 31557600 * time.Second

// Parse parses a policy file (RFC 8461 §3.2): "key: value" lines ended by
// LF or CRLF. version must be STSv1, mode and max_age must be present,
// and at least one mx line unless the mode is none. Keys are case
// sensitive; unknown ones are extensions and ignored. A repeated key
// other than mx is an error: the RFC gives no rule for choosing, and a
// sender that picked a different line than the publisher meant could
// enforce the wrong policy. Empty lines are tolerated, as editors add
// them. A max_age above MaxAge is clamped: the publisher clearly wants a
// long-lived policy, and refusing it would leave the domain unprotected.
// The returned Policy has no ID or Fetched time.
func Parse(body []byte) (*Policy, error) {
	p := &Policy{}
	seen := map[string]bool{}
	for i, line := range strings.Split(string(body), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.Trim(line, " \t") == "" {
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("mta-sts policy: line %d: no colon", i+1)
		}
		val = strings.Trim(val, " \t")
		if key != "mx" && seen[key] {
			return nil, fmt.Errorf("mta-sts policy: line %d: repeated %q", i+1, key)
		}
		seen[key] = true
		switch key {
		case "version":
			if val != "STSv1" {
				return nil, fmt.Errorf("mta-sts policy: line %d: version %q, want STSv1", i+1, val)
			}
		case "mode":
			if val != ModeEnforce && val != ModeTesting && val != ModeNone {
				return nil, fmt.Errorf("mta-sts policy: line %d: unknown mode %q", i+1, val)
			}
			p.Mode = val
		case "max_age":
			age, err := parseMaxAge(val)
			if err != nil {
				return nil, fmt.Errorf("mta-sts policy: line %d: %w", i+1, err)
			}
			p.MaxAge = age
		case "mx":
			if !validPattern(val) {
				return nil, fmt.Errorf("mta-sts policy: line %d: bad mx pattern %q", i+1, val)
			}
			p.MX = append(p.MX, normalize(val))
		}
	}
	switch {
	case !seen["version"]:
		return nil, fmt.Errorf("mta-sts policy: no version")
	case !seen["mode"]:
		return nil, fmt.Errorf("mta-sts policy: no mode")
	case !seen["max_age"]:
		return nil, fmt.Errorf("mta-sts policy: no max_age")
	case len(p.MX) == 0 && p.Mode != ModeNone:
		return nil, fmt.Errorf("mta-sts policy: mode %s without mx", p.Mode)
	}
	return p, nil
}

// parseMaxAge parses 1*10DIGIT seconds.
func parseMaxAge(s string) (time.Duration, error) {
	if s == "" || len(s) > 10 || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("bad max_age %q", s)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad max_age %q: %w", s, err)
	}
	if n > uint64(MaxAge/time.Second) {
		// Before multiplying: ten digits of seconds overflow a Duration.
		return MaxAge, nil
	}
	return time.Duration(n) * time.Second, nil
}

// validPattern reports whether s is a host name, optionally with a
// leading "*." and a trailing dot.
func validPattern(s string) bool {
	return validHost(strings.TrimPrefix(strings.TrimSuffix(s, "."), "*."))
}

// validHost reports whether s is a domain name in A-label form: labels of
// letters, digits, hyphens and underscores.
func validHost(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range []byte(label) {
			if !isAlnum(c) && c != '-' && c != '_' {
				return false
			}
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
