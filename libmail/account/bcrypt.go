package account

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// parseBcrypt checks a bcrypt hash in modular crypt form, "$2b$" followed by
// a two-digit cost, '$', and 53 characters of bcrypt's base64 (22 of salt,
// 31 of hash). golang.org/x/crypto/bcrypt is more lenient than this, so the
// checks here are what turn a mangled hash into an error at load time
// instead of a login that never succeeds.
func parseBcrypt(s string) ([]byte, error) {
	if len(s) != 60 {
		return nil, errors.New("bcrypt hash is not 60 characters long")
	}
	switch s[:4] {
	case "$2a$", "$2b$", "$2y$":
		// These compute the same function for every password that the
		// original $2a$ implementation handled correctly. $2x$ marks hashes
		// made by crypt_blowfish's sign-extension bug, which this library
		// does not reproduce, so it is rejected like any unknown prefix.
	default:
		return nil, fmt.Errorf("unsupported bcrypt prefix %q", s[:4])
	}
	if !isDigit(s[4]) || !isDigit(s[5]) || s[6] != '$' {
		return nil, errors.New("bcrypt cost is not two digits")
	}
	for i := 7; i < len(s); i++ {
		if !isBcryptBase64(s[i]) {
			return nil, errors.New("bcrypt hash holds a character outside its alphabet")
		}
	}
	b := []byte(s)
	if _, err := bcrypt.Cost(b); err != nil {
		return nil, fmt.Errorf("bcrypt: %w", err)
	}
	return b, nil
}

// isBcryptBase64 reports whether c is in bcrypt's base64 alphabet, which is
// "./A-Za-z0-9" rather than the alphabet of RFC 4648.
func isBcryptBase64(c byte) bool {
	return c == '.' || c == '/' || ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9')
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
