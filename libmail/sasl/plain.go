package sasl

import (
	"bytes"
	"fmt"
)

// parsePlain reads a PLAIN message, RFC 4616 §2:
//
//	message = [authzid] UTF8NUL authcid UTF8NUL passwd
//	authcid = 1*SAFE ; MUST accept up to 255 octets
//	passwd  = 1*SAFE ; MUST accept up to 255 octets
//
// SAFE excludes NUL, so a message has exactly three fields. The
// authorization identity must be empty or the authentication identity:
// postern lets no user act as another (RFC 4616 §2 leaves that to the
// server). Errors never quote the message, which holds a password.
func parsePlain(msg []byte) (*Credentials, error) {
	f := bytes.Split(msg, []byte{0})
	switch {
	case len(f) != 3:
		return nil, fmt.Errorf("%w: %d NUL-separated fields, not 3", ErrMalformed, len(f))
	case len(f[1]) == 0:
		return nil, fmt.Errorf("%w: empty authentication identity", ErrMalformed)
	case len(f[2]) == 0:
		return nil, fmt.Errorf("%w: empty password", ErrMalformed)
	case len(f[0]) > 0 && !bytes.Equal(f[0], f[1]):
		return nil, fmt.Errorf("%w: authorization identity differs from authentication identity", ErrMalformed)
	}
	return &Credentials{Mechanism: Plain, Username: string(f[1]), Password: string(f[2])}, nil
}
