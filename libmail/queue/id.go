package queue

import (
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// ID names a queue entry: 11 characters of microseconds since the Unix
// epoch and 5 random characters, in the base-32 alphabet 0-9A-V. The fixed
// width and the ordered alphabet make IDs sort by arrival; the time part
// makes them unique for the life of the spool as long as the clock does
// not go back by more than the random part can absorb; only digits and
// capitals keep them safe as file names and in log parsers that expect
// Postfix's [0-9A-Z] queue IDs.
type ID string

const (
	idTimeLen = 11
	idLen     = 16
	alphabet  = "0123456789ABCDEFGHIJKLMNOPQRSTUV"
)

// IDSource makes queue IDs. It is safe for concurrent use.
type IDSource struct {
	now func() time.Time
	mu  sync.Mutex
	rng *rand.ChaCha8
}

// NewIDSource returns a source that reads the time from now.
func NewIDSource(now func() time.Time) *IDSource {
	var seed [32]byte
	crand.Read(seed[:]) // never fails on Linux (getrandom)
	return &IDSource{now: now, rng: rand.NewChaCha8(seed)}
}

// New returns a fresh ID.
func (s *IDSource) New() ID {
	s.mu.Lock()
	r := s.rng.Uint64()
	s.mu.Unlock()
	us := uint64(s.now().UnixMicro())
	var b [idLen]byte
	for i := idTimeLen - 1; i >= 0; i-- {
		b[i] = alphabet[us&31]
		us >>= 5
	}
	for i := idTimeLen; i < idLen; i++ {
		b[i] = alphabet[r&31]
		r >>= 5
	}
	return ID(b[:])
}

// Time returns the arrival time encoded in the ID.
func (id ID) Time() time.Time {
	var us uint64
	for i := 0; i < idTimeLen && i < len(id); i++ {
		us = us<<5 | uint64(digit(id[i]))
	}
	return time.UnixMicro(int64(us))
}

// Valid reports whether s has the shape of an ID. Everything that turns a
// string from outside (a file name, an IPC frame, a command line) into a
// path checks this first, so an ID can never climb out of its directory.
func Valid(s string) bool {
	if len(s) != idLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if digit(s[i]) < 0 {
			return false
		}
	}
	return true
}

// ParseID checks s and returns it as an ID.
func ParseID(s string) (ID, error) {
	if !Valid(s) {
		return "", fmt.Errorf("bad queue ID %q", s)
	}
	return ID(s), nil
}

func digit(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'V':
		return int(c-'A') + 10
	}
	return -1
}
