package dane

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"

	"postern.dev/postern/libmail/dns"
)

// selected returns the bytes of c that a record with this selector
// describes.
func selected(selector uint8, c *x509.Certificate) []byte {
	if selector == SelectorSPKI {
		return c.RawSubjectPublicKeyInfo
	}
	return c.Raw
}

// matches reports whether record r describes certificate c. r must be
// usable.
func matches(r dns.TLSA, c *x509.Certificate) bool {
	b := selected(r.Selector, c)
	switch r.MatchingType {
	case MatchFull:
		return bytes.Equal(b, r.Data)
	case MatchSHA256:
		sum := sha256.Sum256(b)
		return bytes.Equal(sum[:], r.Data)
	case MatchSHA512:
		sum := sha512.Sum512(b)
		return bytes.Equal(sum[:], r.Data)
	}
	return false
}
