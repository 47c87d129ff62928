package sasl

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestExchanges runs whole exchanges: the mechanism, the initial response
// ("" for none), the client's lines, and what the server answers.
func TestExchanges(t *testing.T) {
	for _, tt := range []struct {
		name    string
		mech    string
		initial string
		lines   []string
		chall   []string // challenges sent, in order
		want    Credentials
		err     error
	}{
		{name: "plain initial", mech: "PLAIN", initial: b64("\x00u@x.test\x00pw"),
			want: Credentials{Plain, "u@x.test", "pw"}},
		{name: "plain lower case, authzid = authcid", mech: "plain", initial: b64("u@x.test\x00u@x.test\x00pw"),
			want: Credentials{Plain, "u@x.test", "pw"}},
		{name: "plain after empty challenge", mech: "PLAIN", lines: []string{b64("\x00u\x00p w")}, chall: []string{""},
			want: Credentials{Plain, "u", "p w"}},
		{name: "plain empty initial", mech: "PLAIN", initial: "=", err: ErrMalformed},
		{name: "plain two fields", mech: "PLAIN", initial: b64("u\x00pw"), err: ErrMalformed},
		{name: "plain four fields", mech: "PLAIN", initial: b64("\x00u\x00pw\x00"), err: ErrMalformed},
		{name: "plain other authzid", mech: "PLAIN", initial: b64("admin\x00u\x00pw"), err: ErrMalformed},
		{name: "plain empty authcid", mech: "PLAIN", initial: b64("\x00\x00pw"), err: ErrMalformed},
		{name: "plain empty password", mech: "PLAIN", initial: b64("\x00u\x00"), err: ErrMalformed},
		{name: "plain bad base64", mech: "PLAIN", initial: "!!!", err: ErrEncoding},
		{name: "plain unpadded", mech: "PLAIN", initial: strings.TrimRight(b64("\x00u\x00pw"), "="), err: ErrEncoding},
		{name: "plain aborted", mech: "PLAIN", lines: []string{"*"}, chall: []string{""}, err: ErrAborted},
		{name: "login", mech: "LOGIN", lines: []string{b64("u@x.test"), b64("pw")},
			chall: []string{"VXNlcm5hbWU6", "UGFzc3dvcmQ6"}, want: Credentials{Login, "u@x.test", "pw"}},
		{name: "login initial user name", mech: "login", initial: b64("u@x.test"), lines: []string{b64("pw")},
			chall: []string{"UGFzc3dvcmQ6"}, want: Credentials{Login, "u@x.test", "pw"}},
		{name: "login empty answers", mech: "LOGIN", initial: "=", lines: []string{""},
			chall: []string{"UGFzc3dvcmQ6"}, want: Credentials{Login, "", ""}},
		{name: "login = as an answer", mech: "LOGIN", lines: []string{"=", "="},
			chall: []string{"VXNlcm5hbWU6", "UGFzc3dvcmQ6"}, want: Credentials{Login, "", ""}},
		{name: "login aborted at password", mech: "LOGIN", lines: []string{b64("u"), "*"},
			chall: []string{"VXNlcm5hbWU6", "UGFzc3dvcmQ6"}, err: ErrAborted},
		{name: "login bad base64", mech: "LOGIN", lines: []string{"not base64"},
			chall: []string{"VXNlcm5hbWU6"}, err: ErrEncoding},
		{name: "unknown mechanism", mech: "CRAM-MD5", err: ErrMechanism},
		{name: "empty mechanism", mech: "", err: ErrMechanism},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewServer(tt.mech)
			if err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("NewServer: %v, want %v", err, tt.err)
				}
				return
			}
			var chall []string
			c, done, err := s.Start(tt.initial)
			for i := 0; err == nil && !done; i++ {
				chall = append(chall, c)
				if i >= len(tt.lines) {
					t.Fatalf("challenge %q with no line left to answer it", c)
				}
				c, done, err = s.Next(tt.lines[i])
			}
			if strings.Join(chall, ",") != strings.Join(tt.chall, ",") || len(chall) != len(tt.chall) {
				t.Errorf("challenges %q, want %q", chall, tt.chall)
			}
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				if _, ok := s.Credentials(); ok {
					t.Error("credentials after an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, ok := s.Credentials()
			if !ok || got != tt.want {
				t.Errorf("credentials %+v (%v), want %+v", got, ok, tt.want)
			}
		})
	}
}

// TestOver: an exchange that ended, either way, takes nothing more.
func TestOver(t *testing.T) {
	s, _ := NewServer(Plain)
	if _, done, err := s.Start(b64("\x00u\x00pw")); !done || err != nil {
		t.Fatalf("done %v, err %v", done, err)
	}
	if _, _, err := s.Next(b64("\x00u\x00pw")); err == nil {
		t.Error("a response after the end was taken")
	}
	s, _ = NewServer(Login)
	if _, _, err := s.Start("*"); !errors.Is(err, ErrAborted) {
		t.Fatalf("err %v", err)
	}
	if _, done, err := s.Next(b64("u")); done || !errors.Is(err, ErrAborted) {
		t.Errorf("after an abort: done %v, err %v; want the abort again", done, err)
	}
}

// TestErrorsHideSecrets: no error quotes what the client sent, which may
// hold a password.
func TestErrorsHideSecrets(t *testing.T) {
	for _, in := range []string{b64("secret\x00u\x00secret"), b64("u\x00secret"), "secret!!"} {
		s, _ := NewServer(Plain)
		_, _, err := s.Start(in)
		if err == nil || strings.Contains(err.Error(), "secret") {
			t.Errorf("Start(%q): %v", in, err)
		}
	}
}

func TestMechanisms(t *testing.T) {
	if got := strings.Join(Mechanisms(), " "); got != "PLAIN LOGIN" {
		t.Errorf("Mechanisms() = %q", got)
	}
}
