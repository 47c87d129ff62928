package sasl

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	gosasl "github.com/emersion/go-sasl"
)

// exchange runs c against s, as SMTP would frame it, and returns the
// credentials s took.
func exchange(t *testing.T, c *Client, s *Server, max int) Credentials {
	t.Helper()
	chall, done, err := s.Start(c.Start(max))
	for steps := 0; err == nil && !done; steps++ {
		if steps > 3 {
			t.Fatal("exchange does not end")
		}
		var resp string
		if resp, err = c.Next(chall); err != nil {
			t.Fatalf("client: %v", err)
		}
		chall, done, err = s.Next(resp)
	}
	if err != nil {
		t.Fatalf("server: %v", err)
	}
	cred, _ := s.Credentials()
	return cred
}

// TestClientWithServer: what the client sends is what the server side
// takes, with and without PLAIN's initial response, and with LOGIN.
func TestClientWithServer(t *testing.T) {
	for _, tt := range []struct {
		mech, user, pass string
		max              int
	}{
		{"PLAIN", "u@example.com", "pass:word with spaces", 500},
		{"plain", "u", "p", 0}, // no room for the initial response
		{"LOGIN", "u@example.com", "pass:word", 500},
		{"login", "ü", "ß", 500},
	} {
		c, err := NewClient(tt.mech, tt.user, tt.pass)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := NewServer(tt.mech)
		got := exchange(t, c, s, tt.max)
		if got.Username != tt.user || got.Password != tt.pass || got.Mechanism != strings.ToUpper(tt.mech) {
			t.Errorf("%s: server took %+v", tt.mech, got)
		}
	}
}

// TestClientWithGoSASL: go-sasl, written apart from this package, reads
// the PLAIN message as we mean it, and its LOGIN client answers the two
// challenges as ours does.
func TestClientWithGoSASL(t *testing.T) {
	var user, pass, authz string
	srv := gosasl.NewPlainServer(func(identity, u, p string) error {
		authz, user, pass = identity, u, p
		return nil
	})
	c, _ := NewClient(Plain, "u@example.com", "pa:ss wd")
	ir, _ := base64.StdEncoding.DecodeString(c.Start(1000))
	if _, done, err := srv.Next(ir); !done || err != nil {
		t.Fatalf("go-sasl PLAIN server: done %v, %v", done, err)
	}
	if authz != "" || user != "u@example.com" || pass != "pa:ss wd" {
		t.Errorf("go-sasl read authzid %q user %q password %q", authz, user, pass)
	}

	// go-sasl's LOGIN client sends the user name as an initial
	// response; ours waits for the first challenge. The answers are
	// the same.
	ref := gosasl.NewLoginClient("u@example.com", "pa:ss wd")
	_, wantUser, _ := ref.Start()
	wantPass, _ := ref.Next([]byte("Password:"))
	c, _ = NewClient(Login, "u@example.com", "pa:ss wd")
	if ir := c.Start(1000); ir != "" {
		t.Errorf("LOGIN initial response %q", ir)
	}
	for _, want := range [][]byte{wantUser, wantPass} {
		got, err := c.Next("")
		if err != nil || got != base64.StdEncoding.EncodeToString(want) {
			t.Errorf("LOGIN answer %q (%v), go-sasl's %q", got, err, want)
		}
	}
}

// TestClientSteps: a challenge after the last response is refused, so
// the caller aborts instead of sending the password somewhere else in
// the exchange.
func TestClientSteps(t *testing.T) {
	c, _ := NewClient(Plain, "u", "p")
	if c.Start(1000) == "" {
		t.Fatal("no initial response")
	}
	if _, err := c.Next(""); !errors.Is(err, ErrSteps) {
		t.Errorf("PLAIN after its initial response: %v", err)
	}
	c, _ = NewClient(Login, "u", "p")
	c.Next("")
	c.Next("")
	if r, err := c.Next(""); !errors.Is(err, ErrSteps) || r != "" {
		t.Errorf("LOGIN's third challenge: %q, %v", r, err)
	}
}

// TestNewClientRefuses: unknown mechanisms and credentials a mechanism
// cannot carry; no error quotes the password.
func TestNewClientRefuses(t *testing.T) {
	for _, tt := range []struct {
		mech, user, pass string
		err              error
	}{
		{"CRAM-MD5", "u", "secret", ErrMechanism},
		{"PLAIN", "", "secret", ErrMalformed},
		{"PLAIN", "u", "", ErrMalformed},
		{"PLAIN", "u\x00admin", "secret", ErrMalformed},
		{"LOGIN", "u", "sec\x00ret", ErrMalformed},
	} {
		_, err := NewClient(tt.mech, tt.user, tt.pass)
		if !errors.Is(err, tt.err) || strings.Contains(err.Error(), "sec") {
			t.Errorf("NewClient(%q, %q): %v, want %v", tt.mech, tt.user, err, tt.err)
		}
	}
}
