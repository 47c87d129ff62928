package authres

import "testing"

func TestClaims(t *testing.T) {
	for _, tc := range []struct {
		field string
		want  bool
	}{
		{"Authentication-Results: mx.example.net; dkim=pass header.d=example.com\r\n", true},
		{"Authentication-Results: mx.example.net 1; spf=pass smtp.mailfrom=example.com\r\n", true},
		{"Authentication-Results: MX.Example.NET; none\r\n", true},
		{"Authentication-Results: mx.example.net.; none\r\n", true},
		{"authentication-results : mx.example.net; none\r\n", true},
		{"Authentication-Results:mx.example.net;dkim=pass\r\n", true},
		{"Authentication-Results:\r\n\tmx.example.net;\r\n\tdkim=pass header.d=example.com\r\n", true},
		{"Authentication-Results: (forged) (nested (comment)) mx.example.net; dkim=pass\r\n", true},
		{"Authentication-Results: \"mx.example.net\"; dkim=pass\r\n", true},
		{"Authentication-Results: \"mx.example.net\" 1; dkim=pass\r\n", true},
		// Unparseable, but starting with our authserv-id.
		{"Authentication-Results: mx.example.net(x); dkim=pass\r\n", true},
		{"Authentication-Results: mx.example.net/x; dkim=pass\r\n", true},
		{"Authentication-Results: mx.example.net 2; dkim=pass\r\n", true},
		{"Authentication-Results: mx.example.net\r\n", true},
		{"Authentication-Results: mx.example.net; \"unterminated\r\n", true},
		{"Authentication-Results: \"mx.example.net", true},
		// Someone else's.
		{"Authentication-Results: mx.example.org; dkim=pass header.d=mx.example.net\r\n", false},
		{"Authentication-Results: mx.example.net.evil.example; dkim=pass\r\n", false},
		{"Authentication-Results: evil-mx.example.net; dkim=pass\r\n", false},
		{"Authentication-Results: x.mx.example.net; dkim=pass\r\n", false},
		{"Authentication-Results: (mx.example.net) other.example; dkim=pass\r\n", false},
		{"Authentication-Results: ; dkim=pass\r\n", false},
		{"Authentication-Results:\r\n", false},
		// Other fields.
		{"X-Authentication-Results: mx.example.net; dkim=pass\r\n", false},
		{"ARC-Authentication-Results: i=1; mx.example.net; dkim=pass\r\n", false},
		{"Authentication-Results-Original: mx.example.net; dkim=pass\r\n", false},
		{"Received: from mx.example.net\r\n", false},
		{"Authentication-Results mx.example.net\r\n", false},
		{"", false},
	} {
		if got := Claims([]byte(tc.field), id); got != tc.want {
			t.Errorf("Claims(%q) = %v, want %v", tc.field, got, tc.want)
		}
	}
	if Claims([]byte("Authentication-Results: ; none\r\n"), "") {
		t.Error("an empty authserv-id claimed an empty one")
	}
}
