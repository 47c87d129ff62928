package config

import (
	"fmt"
	"path/filepath"
	"strings"
)

// SASLMechanisms are the values of smtp_sasl_mechanism_filter: the
// mechanisms the SMTP client has, in its order of preference.
var SASLMechanisms = []string{"plain", "login"}

// SASLSecurityOptions are the values of smtp_sasl_security_options,
// Postfix's (from Cyrus SASL's security properties).
var SASLSecurityOptions = []string{"noplaintext", "noactive", "nodictionary", "mutual_auth", "noanonymous"}

// validateSMTPSASL checks the SMTP client's SASL parameters.
func validateSMTPSASL(p *Params) error {
	if f := p.SMTPSASLPasswordMaps; f != "" && !filepath.IsAbs(f) {
		why := fmt.Errorf("%q is not an absolute path", f)
		if typ, path, ok := strings.Cut(f, ":"); ok && filepath.IsAbs(path) {
			why = fmt.Errorf("%q: postern reads the text file itself, without a %s: table type (and without postmap): name %s", f, typ, path)
		}
		return &paramError{"smtp_sasl_password_maps", why}
	}
	if p.SMTPSASLAuthEnable && p.SMTPSASLPasswordMaps == "" {
		return &paramError{"smtp_sasl_password_maps", fmt.Errorf("smtp_sasl_auth_enable needs a credentials file (set smtp_sasl_password_maps first)")}
	}
	for _, o := range p.SMTPSASLSecurityOptions {
		if !oneOf(strings.ToLower(o), SASLSecurityOptions) {
			return &paramError{"smtp_sasl_security_options", fmt.Errorf("%q: want some of %s", o, strings.Join(SASLSecurityOptions, ", "))}
		}
	}
	for _, m := range p.SMTPSASLMechanismFilter {
		if !oneOf(strings.ToLower(m), SASLMechanisms) {
			return &paramError{"smtp_sasl_mechanism_filter", fmt.Errorf("%q: the SMTP client has %s", m, strings.Join(SASLMechanisms, " and "))}
		}
	}
	return nil
}
