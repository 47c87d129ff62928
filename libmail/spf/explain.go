package spf

// maxExplanation caps an explanation, which ends up in an SMTP reply
// line (RFC 5321 §4.5.3.1.5: 512 octets with the code); RFC 7208 §6.2
// lets implementations limit it.
const maxExplanation = 400

// explain computes the explanation of a Fail (RFC 7208 §6.2) from the
// exp= of the record that decided it, evaluated at domain. Anything
// wrong on the way (a failed lookup, no record or several, a syntax
// error, octets that are not printable US-ASCII) means no explanation.
// The lookup counts against no limit: the result is already known.
func (e *eval) explain(exp macroString, domain string) string {
	if e.ctx.Err() != nil {
		return ""
	}
	name := e.target(exp, domain)
	if !validName(name) {
		return ""
	}
	txts, err := e.r.LookupTXT(e.ctx, name)
	if err != nil || len(txts) != 1 {
		return ""
	}
	m, _, err := parseMacroString(txts[0], true)
	if err != nil {
		return ""
	}
	env := e.env
	env.domain = domain
	s := m.expand(&env)
	for i := 0; i < len(s); i++ {
		// Macro values (a local-part, the HELO name) come from the
		// client and may hold anything; the reply must not.
		if s[i] < 0x20 || s[i] > 0x7e {
			return ""
		}
	}
	if len(s) > maxExplanation {
		s = s[:maxExplanation]
	}
	return s
}
