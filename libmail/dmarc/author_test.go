package dmarc

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestAuthorDomains(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields []string
		want   []string
	}{
		{"plain", []string{"From: user@example.com\r\n"}, []string{"example.com"}},
		{"display name", []string{"From: \"Doe, John\" <John.Doe@Example.COM>\r\n"}, []string{"example.com"}},
		{"address in the display name", []string{"From: \"service@paypal.example\" <a@evil.example>\r\n"}, []string{"evil.example"}},
		{"encoded word in an unknown charset", []string{"From: =?x-unknown?q?J=F6rg?= <j@example.com>\r\n"}, []string{"example.com"}},
		{"encoded word in windows-1252", []string{"From: =?windows-1252?q?J=F6rg?= <j@example.com>\r\n"}, []string{"example.com"}},
		{"comment", []string{"From: user@example.com (User)\r\n"}, []string{"example.com"}},
		{"folded", []string{"From: John Doe\r\n <user@example.com>\r\n"}, []string{"example.com"}},
		{"name case and space before the colon", []string{"fROM : user@example.com\r\n"}, []string{"example.com"}},
		{"several mailboxes", []string{"From: a@one.example, B <b@two.example>, c@ONE.example\r\n"}, []string{"one.example", "two.example"}},
		{"group", []string{"From: team: a@one.example, b@two.example;\r\n"}, []string{"one.example", "two.example"}},
		{"empty group", []string{"From: undisclosed-recipients:;\r\n"}, nil},
		{"several From: fields", []string{"From: a@one.example\r\n", "Subject: x\r\n", "From: b@two.example\r\n"}, []string{"one.example", "two.example"}},
		{"other fields skipped", []string{"Sender: s@sender.example\r\n", "Reply-To: r@reply.example\r\n", "X-From: x@x.example\r\n"}, nil},
		{"no From:", nil, nil},
		{"U-label domain", []string{"From: jörg@Bücher.example\r\n"}, []string{"xn--bcher-kva.example"}},
		{"address literal", []string{"From: user@[192.0.2.1]\r\n"}, nil},
		{"no domain", []string{"From: root\r\n"}, nil},
		{"empty", []string{"From:\r\n"}, nil},
		// What net/mail refuses is read for the domains after @.
		{"trailing dot", []string{"From: user@example.com.\r\n"}, []string{"example.com"}},
		{"unbalanced", []string{"From: \"PayPal <service@paypal.example>\r\n"}, []string{"paypal.example"}},
		{"junk around", []string{"From: <<a@one.example>> b@two.example;;\r\n"}, []string{"one.example", "two.example"}},
		{"no colon", []string{"From user@example.com\r\n"}, nil},
	} {
		var fields [][]byte
		for _, f := range tc.fields {
			fields = append(fields, []byte(f))
		}
		if got := AuthorDomains(fields); !slices.Equal(got, tc.want) {
			t.Errorf("%s: AuthorDomains(%q) = %q, want %q", tc.name, strings.Join(tc.fields, ""), got, tc.want)
		}
	}
}

// TestAuthorDomainsBound: a From: field with thousands of domains costs
// no more than Evaluate needs to refuse the message.
func TestAuthorDomainsBound(t *testing.T) {
	var b strings.Builder
	b.WriteString("From: ")
	for i := range 5000 {
		fmt.Fprintf(&b, "a@d%d.example, ", i)
	}
	b.WriteString("\r\n")
	got := AuthorDomains([][]byte{[]byte(b.String())})
	if len(got) != MaxAuthorDomains+1 || got[0] != "d0.example" {
		t.Errorf("got %d domains, from %q; want %d from d0.example", len(got), got[0], MaxAuthorDomains+1)
	}
}
