package dkim

import (
	"fmt"

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
