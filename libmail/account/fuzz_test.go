package account

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, reports only *ParseErrors for
// in-memory input, keeps its invariants (lower-case addresses that Lookup
// finds, a sorted set of domains), and that every hash it accepts is written
// back by this package in a form it parses to the same value. Verification
// runs only on hashes cheap enough for a fuzzer.
func FuzzParse(f *testing.F) {
	f.Add("demo@example.test:{PLAIN}pw::::/var/vmail/demo\n")
	f.Fuzz(func(t *testing.T, input string) {
		file, errs := Parse(strings.NewReader(input), "fuzz")
		for _, err := range errs {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
		}
		domains := file.Domains()
		if !slices.IsSorted(domains) || len(slices.Compact(slices.Clone(domains))) != len(domains) {
			t.Fatalf("Domains() = %q is not a sorted set", domains)
		}
		for addr, e := range file.accounts {
			a := e.account
			if a.Address != addr || strings.ToLower(addr) != addr {
				t.Fatalf("account stored as %q has address %q", addr, a.Address)
			}
			if got, ok := file.Lookup(addr); !ok || got.Address != addr {
				t.Fatalf("Lookup(%q) failed", addr)
			}
			if _, ok := slices.BinarySearch(domains, addr[strings.LastIndexByte(addr, '@')+1:]); !ok {
				t.Fatalf("domain of %q missing from %q", addr, domains)
			}
			if a.Home != "" && !strings.HasPrefix(a.Home, "/") {
				t.Fatalf("relative home %q accepted", a.Home)
			}
			checkPassword(t, &a)
		}
	})
}

func checkPassword(t *testing.T, a *Account) {
	p := &a.pw
	switch p.scheme {
	case schemeArgon2:
		again, err := parsePassword("{ARGON2ID}" + p.argon2.String())
		if err != nil || !reflect.DeepEqual(again.argon2, p.argon2) {
			t.Fatalf("argon2 hash %s does not round-trip: %v", p.argon2, err)
		}
		if uint64(p.argon2.memory)*uint64(p.argon2.time) <= 1<<12 && len(p.argon2.key) <= 1<<10 {
			a.Verify("fuzz")
		}
	case schemeBcrypt:
		again, err := parsePassword("{BLF-CRYPT}" + string(p.bcrypt))
		if err != nil || !reflect.DeepEqual(again.bcrypt, p.bcrypt) {
			t.Fatalf("bcrypt hash %s does not round-trip: %v", p.bcrypt, err)
		}
		if p.bcrypt[4] == '0' && p.bcrypt[5] <= '6' {
			a.Verify("fuzz")
		}
	case schemePlain:
		a.Verify("fuzz")
	case noPassword:
		if a.CanLogIn() || a.Verify("fuzz") {
			t.Fatal("account without a password can log in")
		}
	}
}
