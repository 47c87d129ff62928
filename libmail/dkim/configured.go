package dkim

import (
	"fmt"
	"strings"

	"postern.dev/postern/libmail/config"
)

// LoadConfigured reads the keys dkim_signing_keys names, for every
// program that signs (smtpd, pickup); nil when it names none. A key
// that cannot be read is an error: the program stops rather than leave
// its domain's mail unsigned.
func LoadConfigured(list []string) (*Keys, error) {
	entries, err := config.ParseDKIMSigningKeys(list)
	if err != nil || len(entries) == 0 {
		return nil, err
	}
	specs := make([]KeySpec, len(entries))
	for i, e := range entries {
		specs[i] = KeySpec{Domain: e.Domain, Selector: e.Selector, File: e.File}
	}
	keys, err := LoadKeys(specs)
	if err != nil {
		return nil, fmt.Errorf("dkim_signing_keys: %w", err)
	}
	return keys, nil
}

// Added is the log line of a signed message: "DKIM-Signature added
// (d=example.org, s=rsa2026 rsa, s=ed2026 ed25519)".
func Added(keys []*Key) string {
	var b strings.Builder
	b.WriteString("DKIM-Signature added (")
	for i, k := range keys {
		if i == 0 || k.Domain != keys[i-1].Domain {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("d=" + k.Domain)
		}
		b.WriteString(", s=" + k.Selector + " " + k.Type())
	}
	b.WriteString(")")
	return b.String()
}
