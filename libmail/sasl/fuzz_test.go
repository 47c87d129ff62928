package sasl

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// FuzzServer runs arbitrary lines through an exchange: it never panics,
// never asks for more than its mechanism's steps, fails only with one of
// the package's sentinels, and what it returns as PLAIN credentials is
// the message the client encoded (so a field is never cut or merged).
func FuzzServer(f *testing.F) {
	for _, s := range [][4]string{
		{"PLAIN", "AHVAeC50ZXN0AHB3", "", ""},
		{"plain", "", "dUB4LnRlc3QAdUB4LnRlc3QAcHc=", ""},
		{"PLAIN", "=", "", ""},
		{"PLAIN", "", "*", ""},
		{"PLAIN", "YWRtaW4AdQBwdw==", "", ""},
		{"LOGIN", "", "dUB4LnRlc3Q=", "cHc="},
		{"LOGIN", "dUB4LnRlc3Q=", "=", ""},
		{"LOGIN", "", "not base64", ""},
		{"CRAM-MD5", "", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, mech, initial, l1, l2 string) {
		s, err := NewServer(mech)
		if err != nil {
			if !errors.Is(err, ErrMechanism) {
				t.Fatalf("NewServer(%q): %v", mech, err)
			}
			return
		}
		lines := []string{l1, l2, l1}
		chall, done, err := s.Start(initial)
		steps := 0
		for err == nil && !done {
			if steps == len(lines) {
				t.Fatalf("%s asks for a fourth response", s.Mechanism())
			}
			if _, err := base64.StdEncoding.DecodeString(chall); err != nil {
				t.Fatalf("challenge %q is not base64", chall)
			}
			chall, done, err = s.Next(lines[steps])
			steps++
		}
		cred, ok := s.Credentials()
		if err != nil {
			if !errors.Is(err, ErrAborted) && !errors.Is(err, ErrEncoding) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is none of the sentinels", err)
			}
			if ok {
				t.Fatal("credentials after an error")
			}
			return
		}
		if !ok || cred.Mechanism != s.Mechanism() {
			t.Fatalf("done without credentials: %+v, %v", cred, ok)
		}
		if cred.Mechanism == Plain {
			sent := initial
			if initial == "" {
				sent = l1
			}
			msg, _ := base64.StdEncoding.DecodeString(sent)
			user, pass := []byte(cred.Username), []byte(cred.Password)
			if !bytes.Equal(msg, append(append([]byte{0}, user...), append([]byte{0}, pass...)...)) &&
				!bytes.Equal(msg, bytes.Join([][]byte{user, user, pass}, []byte{0})) {
				t.Fatalf("message %q gave user %q, password %q", msg, user, pass)
			}
		}
	})
}

// FuzzParsePasswords reads arbitrary credentials files: it never
// panics; every entry it keeps has a lower-case key without white space,
// a user name without a colon, and credentials NewClient takes for both
// mechanisms; written back as "KEY USER:PASSWORD" it reads the same.
func FuzzParsePasswords(f *testing.F) {
	for _, s := range []string{
		"[relay.example.com]:587 user@example.com:secret\n",
		"relay.example.net\tu:pa:ss word  \r\n# comment\n",
		"  continued u:p\n",
		"user@example.org u:p\n[x u:p\nx u\nx :p\nx u:\n",
		"x u:p\nX u:q\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, _ := ParsePasswords(strings.NewReader(in), "f")
		if p == nil {
			t.Fatal("no table without a read error")
		}
		for k, e := range p.m {
			s := e.login
			if k != strings.ToLower(k) || strings.ContainsAny(k, " \t") || strings.Contains(s.Username, ":") {
				t.Fatalf("entry %q %+v", k, s)
			}
			for _, mech := range Mechanisms() {
				if _, err := NewClient(mech, s.Username, s.Password); err != nil {
					t.Fatalf("entry %q: NewClient(%s): %v", k, mech, err)
				}
			}
			line := k + " " + s.Username + ":" + s.Password
			if len(line) > maxPasswordLine {
				continue // lower-casing made the key longer
			}
			again, errs := ParsePasswords(strings.NewReader(line+"\n"), "f")
			if len(errs) > 0 {
				t.Fatalf("entry %q written back: %v", k, errs)
			}
			if got, _, _ := again.Lookup(k); got != s {
				t.Fatalf("entry %q %+v read back as %+v", k, s, got)
			}
		}
	})
}
