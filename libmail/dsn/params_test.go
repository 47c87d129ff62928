package dsn

import "testing"

func TestAppendXtext(t *testing.T) {
	for in, want := range map[string]string{
		"user@example.org":   "user@example.org",
		"a+b=c@example.org":  "a+2Bb+3Dc@example.org",
		"with space":         "with+20space",
		"ünï":                "+C3+BCn+C3+AF",
		"<id.123@host>\x7f~": "<id.123@host>+7F~",
	} {
		if got := string(AppendXtext(nil, in)); got != want {
			t.Errorf("xtext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDecodeXtext(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"abc", "abc", true},
		{"abc+2Bdef", "abc+def", true},
		{"rfc822;a+2B1@b", "rfc822;a+1@b", true},
		{"+3D", "=", true},
		{"+", "", false},
		{"+2", "", false},
		{"+2b", "", false}, // RFC 3461: upper-case hex only
		{"+ZZ", "", false},
	}
	for _, tt := range tests {
		got, ok := DecodeXtext(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("DecodeXtext(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseNotify(t *testing.T) {
	for in, want := range map[string]string{
		"NEVER": "NEVER", "never": "NEVER", "SUCCESS,FAILURE": "SUCCESS,FAILURE", "delay,Failure": "DELAY,FAILURE",
		"NEVER,SUCCESS": "", "SUCCESS,SUCCESS": "", "": "", "FAILURE,": "", "SOMETIMES": "",
	} {
		got, ok := ParseNotify(in)
		if ok != (want != "") || got != want {
			t.Errorf("ParseNotify(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
