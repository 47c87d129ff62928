package account

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Parameters for new hashes. They are the minimum OWASP's Password Storage
// Cheat Sheet recommends for Argon2id (19 MiB of memory, two iterations,
// one degree of parallelism), which keeps a login affordable for a mail
// server that may see many at once. The 16-byte salt is what RFC 9106
// section 3.1 recommends for password hashing, and the 32-byte key matches
// what Dovecot (through libsodium) writes.
const (
	hashMemory  = 19456 // KiB
	hashTime    = 2
	hashThreads = 1
	hashSaltLen = 16
	hashKeyLen  = 32
)

// Bounds on hashes read from a file. A hash that asks for more memory than
// maxArgon2Memory could exhaust the machine on a single login; the largest
// setting RFC 9106 section 4 recommends uses 2 GiB, so twice that still
// accepts every sensible hash. The minimum salt of 8 bytes is the one the
// reference implementation enforces, and RFC 9106 section 3.1 sets the
// minimum tag length of 4 bytes.
const (
	maxArgon2Memory = 1 << 22 // KiB, 4 GiB
	minSaltLen      = 8
	minKeyLen       = 4
)

// argon2Hash is a parsed "$argon2id$" string in the PHC string format that
// libsodium, and so Dovecot, writes.
type argon2Hash struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

// Hash hashes password for an accounts file, returning "{ARGON2ID}$argon2id$
// v=19$m=19456,t=2,p=1$salt$hash" with a fresh random salt.
func Hash(password string) (string, error) {
	salt := make([]byte, hashSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read salt: %w", err)
	}
	h := argon2Hash{memory: hashMemory, time: hashTime, threads: hashThreads, salt: salt}
	h.key = h.derive(password, hashKeyLen)
	return "{ARGON2ID}" + h.String(), nil
}

func (h *argon2Hash) derive(password string, keyLen int) []byte {
	return argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(keyLen))
}

// String writes h in PHC string format: base64 without padding, and the
// version written out, as libsodium does.
func (h *argon2Hash) String() string {
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", h.memory, h.time, h.threads,
		base64.RawStdEncoding.EncodeToString(h.salt), base64.RawStdEncoding.EncodeToString(h.key))
}

// parseArgon2 reads "$argon2id$v=19$m=M,t=T,p=P$salt$hash". Messages never
// quote the salt or hash, which do not belong in logs.
func parseArgon2(s string) (*argon2Hash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return nil, errors.New("not of the form $argon2id$v=19$m=M,t=T,p=P$salt$hash")
	}
	// Version 19 (0x13) is the only one golang.org/x/crypto/argon2
	// computes; older hashes without "v=" are version 16 and would never
	// verify.
	if parts[2] != "v=19" {
		return nil, fmt.Errorf("unsupported argon2 version %q", parts[2])
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return nil, errors.New("argon2 parameters are not m=M,t=T,p=P")
	}
	m, err := argon2Param(params[0], "m=")
	if err != nil {
		return nil, err
	}
	t, err := argon2Param(params[1], "t=")
	if err != nil {
		return nil, err
	}
	p, err := argon2Param(params[2], "p=")
	if err != nil {
		return nil, err
	}
	switch {
	case t < 1:
		return nil, errors.New("argon2 iterations must be at least 1")
	case p < 1 || p > 255:
		// RFC 9106 allows up to 2^24-1 lanes; golang.org/x/crypto/argon2
		// takes at most 255.
		return nil, fmt.Errorf("argon2 parallelism %d not in 1..255", p)
	case m < 8*p:
		// RFC 9106 section 3.1: memory is at least 8 KiB per lane.
		return nil, fmt.Errorf("argon2 memory %d KiB below 8 KiB per lane", m)
	case m > maxArgon2Memory:
		return nil, fmt.Errorf("argon2 memory %d KiB above the limit of %d KiB", m, maxArgon2Memory)
	}
	salt, err := decodeBase64(parts[4])
	if err != nil {
		return nil, fmt.Errorf("argon2 salt: %w", err)
	}
	if len(salt) < minSaltLen {
		return nil, fmt.Errorf("argon2 salt shorter than %d bytes", minSaltLen)
	}
	key, err := decodeBase64(parts[5])
	if err != nil {
		return nil, fmt.Errorf("argon2 hash: %w", err)
	}
	if len(key) < minKeyLen {
		return nil, fmt.Errorf("argon2 hash shorter than %d bytes", minKeyLen)
	}
	return &argon2Hash{memory: m, time: t, threads: uint8(p), salt: salt, key: key}, nil
}

func argon2Param(s, prefix string) (uint32, error) {
	v, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return 0, fmt.Errorf("argon2 parameter %q, want %sN", s, prefix)
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("argon2 parameter %q: %w", s, err)
	}
	return uint32(n), nil
}

// decodeBase64 reads the PHC format's base64: the standard alphabet without
// padding. Padding is tolerated because some tools add it, but stray bits in
// the last character are not, so that each hash has one spelling.
func decodeBase64(s string) ([]byte, error) {
	b, err := base64.RawStdEncoding.Strict().DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("decode base64: %w", err)
	}
	return b, nil
}
