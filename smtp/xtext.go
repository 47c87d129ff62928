package smtp

// appendXtext appends s encoded as RFC 3461 §4 xtext: the printable
// ASCII characters other than '+' and '=' as they are, every other byte
// as "+" and two upper-case hex digits. ENVID and ORCPT travel this way
// because the queue keeps them decoded.
func appendXtext(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '!' && c <= '~' && c != '+' && c != '=' {
			b = append(b, c)
			continue
		}
		b = append(b, '+', hex[c>>4], hex[c&0xf])
	}
	return b
}
