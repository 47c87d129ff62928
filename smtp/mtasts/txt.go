package mtasts

import "strings"

// ParseTXT parses an _mta-sts TXT record (RFC 8461 §3.1):
// "v=STSv1; id=<1-32 letters and digits>;" where v=STSv1 comes first and
// other fields are extensions, ignored. ok is false if the record is
// malformed or has no id.
func ParseTXT(txt string) (id string, ok bool) {
	fields := strings.Split(txt, ";")
	if strings.TrimRight(fields[0], " \t") != "v=STSv1" {
		return "", false
	}
	for _, f := range fields[1:] {
		f = strings.Trim(f, " \t")
		if f == "" {
			// A trailing separator, which the RFC allows once; being
			// lenient about doubled ones costs nothing.
			continue
		}
		name, val, found := strings.Cut(f, "=")
		if !found || !validExtName(name) || !validExtValue(val) {
			return "", false
		}
		if name == "id" && id == "" {
			if !validID(val) {
				return "", false
			}
			id = val
		}
	}
	return id, id != ""
}

// recordID picks the policy id out of all the TXT records at
// _mta-sts.<domain>. Records not starting with v=STSv1 belong to
// something else and are skipped; if not exactly one remains, or it is
// malformed, RFC 8461 §3.1 says there is no policy to discover.
func recordID(txts []string) (string, bool) {
	var rec string
	n := 0
	for _, t := range txts {
		if strings.HasPrefix(t, "v=STSv1") {
			rec = t
			n++
		}
	}
	if n != 1 {
		return "", false
	}
	return ParseTXT(rec)
}

// validExtName: (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".").
func validExtName(s string) bool {
	if s == "" || len(s) > 32 || !isAlnum(s[0]) {
		return false
	}
	for _, c := range []byte(s[1:]) {
		if !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// validExtValue: 1*(%x21-3A / %x3C / %x3E-7E), printable ASCII but "=",
// ";" and space.
func validExtValue(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < 0x21 || c > 0x7e || c == '=' || c == ';' {
			return false
		}
	}
	return true
}

// validID: 1*32(ALPHA / DIGIT).
func validID(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range []byte(s) {
		if !isAlnum(c) {
			return false
		}
	}
	return true
}
