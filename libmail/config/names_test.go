package config

import (
	"reflect"
	"strings"
	"testing"
)

// words spells the parts of parameter names that a Go name does not
// simply capitalize: initialisms, and Postfix's fused words, split where
// a reader splits them.
var words = map[string]string{
	"smtpd": "SMTPD", "dmarc": "DMARC", "id": "ID", "smtp": "SMTP", "tls": "TLS", "dns": "DNS", "mta": "MTA", "sts": "STS", "sasl": "SASL",
	"mime": "MIME", "tcp": "TCP", "rcpt": "Rcpt", "CAfile": "CAFile", "smtputf8": "SMTPUTF8", "dkim": "DKIM",
	"myhostname": "MyHostname", "mydomain": "MyDomain", "myorigin": "MyOrigin", "mydestination": "MyDestination",
	"mynetworks": "MyNetworks", "relayhost": "RelayHost", "wrappermode": "WrapperMode", "maillog": "Maillog",
	"peername": "Peername", "dnsbl": "DNSBL", "ttl": "TTL",
}

// goName is the Go field name a parameter's name gives.
func goName(param string) string {
	var b strings.Builder
	for _, w := range strings.Split(param, "_") {
		if s, ok := words[w]; ok {
			b.WriteString(s)
			continue
		}
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

// TestFieldNamesAreParameterNames: every Params field is named after its
// parameter, so that grepping the code for either finds the other.
func TestFieldNamesAreParameterNames(t *testing.T) {
	n := 0
	for _, f := range reflect.VisibleFields(reflect.TypeOf(Params{})) {
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if f.Anonymous || name == "" || name == "-" {
			continue
		}
		n++
		if want := goName(name); f.Name != want {
			t.Errorf("field %s holds %s; name it %s", f.Name, name, want)
		}
	}
	if n < 50 {
		t.Errorf("only %d parameters seen", n)
	}
}
