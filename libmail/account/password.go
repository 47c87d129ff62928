package account

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// scheme is how a password is stored.
type scheme int

const (
	// noPassword is an empty password field: the account receives mail but
	// cannot log in.
	noPassword scheme = iota
	schemeArgon2
	schemeBcrypt
	schemePlain
)

// password is a parsed password field, ready to verify.
type password struct {
	scheme scheme
	argon2 *argon2Hash
	bcrypt []byte
	// plain holds the SHA-256 digest of a plaintext password rather than
	// the password itself, so that comparing digests in constant time
	// hides the password's length as well as its content.
	plain [sha256.Size]byte
}

// parsePassword reads "{SCHEME}data". Scheme names are matched without
// regard to case, as Dovecot does. Messages name the scheme but never quote
// the data, which does not belong in logs.
func parsePassword(field string) (password, error) {
	if field == "" {
		return password{scheme: noPassword}, nil
	}
	rest, ok := strings.CutPrefix(field, "{")
	if !ok {
		return password{}, errors.New("password lacks a {SCHEME} prefix")
	}
	name, data, ok := strings.Cut(rest, "}")
	if !ok {
		return password{}, errors.New("password scheme lacks its closing brace")
	}
	switch strings.ToUpper(name) {
	case "ARGON2ID":
		h, err := parseArgon2(data)
		if err != nil {
			return password{}, err
		}
		return password{scheme: schemeArgon2, argon2: h}, nil
	case "BLF-CRYPT", "BCRYPT":
		b, err := parseBcrypt(data)
		if err != nil {
			return password{}, err
		}
		return password{scheme: schemeBcrypt, bcrypt: b}, nil
	case "PLAIN", "CLEARTEXT":
		return password{scheme: schemePlain, plain: sha256.Sum256([]byte(data))}, nil
	}
	return password{}, fmt.Errorf("unknown password scheme %q", "{"+name+"}")
}

// verify reports whether pw matches. Every comparison of secret-derived
// bytes is constant-time.
func (p *password) verify(pw string) bool {
	switch p.scheme {
	case schemeArgon2:
		got := p.argon2.derive(pw, len(p.argon2.key))
		return subtle.ConstantTimeCompare(got, p.argon2.key) == 1
	case schemeBcrypt:
		// CompareHashAndPassword compares with crypto/subtle itself.
		return bcrypt.CompareHashAndPassword(p.bcrypt, []byte(pw)) == nil
	case schemePlain:
		got := sha256.Sum256([]byte(pw))
		return subtle.ConstantTimeCompare(got[:], p.plain[:]) == 1
	}
	return false
}
