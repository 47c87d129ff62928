package mtasts

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		body string
		want *Policy // nil: an error is expected
	}{
		{"RFC example", "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n",
			&Policy{Mode: ModeEnforce, MX: []string{"mail.example.com", "*.example.net", "backupmx.example.com"}, MaxAge: 604800 * time.Second}},
		{"LF, no final newline", "version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 86400",
			&Policy{Mode: ModeTesting, MX: []string{"mx.example.com"}, MaxAge: 24 * time.Hour}},
		{"any order, spacing, case and dots", "max_age:300  \nmx:\tMX.Example.COM.\nmode:   enforce\nversion: STSv1\n\n",
			&Policy{Mode: ModeEnforce, MX: []string{"mx.example.com"}, MaxAge: 5 * time.Minute}},
		{"extensions ignored", "version: STSv1\nmode: enforce\nfoo: bar: baz\nmx: mx.example.com\nmax_age: 0\n",
			&Policy{Mode: ModeEnforce, MX: []string{"mx.example.com"}}},
		{"none without mx", "version: STSv1\nmode: none\nmax_age: 86400\n",
			&Policy{Mode: ModeNone, MaxAge: 24 * time.Hour}},
		{"max_age clamped", "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 9999999999\n",
			&Policy{Mode: ModeEnforce, MX: []string{"mx.example.com"}, MaxAge: MaxAge}},
		{"max_age at limit", "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 31557600\n",
			&Policy{Mode: ModeEnforce, MX: []string{"mx.example.com"}, MaxAge: MaxAge}},

		{"empty", "", nil},
		{"no version", "mode: enforce\nmx: mx.example.com\nmax_age: 1\n", nil},
		{"wrong version", "version: STSv2\nmode: enforce\nmx: mx.example.com\nmax_age: 1\n", nil},
		{"version case", "version: stsv1\nmode: enforce\nmx: mx.example.com\nmax_age: 1\n", nil},
		{"no mode", "version: STSv1\nmx: mx.example.com\nmax_age: 1\n", nil},
		{"unknown mode", "version: STSv1\nmode: strict\nmx: mx.example.com\nmax_age: 1\n", nil},
		{"mode case", "version: STSv1\nmode: Enforce\nmx: mx.example.com\nmax_age: 1\n", nil},
		{"no max_age", "version: STSv1\nmode: enforce\nmx: mx.example.com\n", nil},
		{"negative max_age", "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: -1\n", nil},
		{"empty max_age", "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age:\n", nil},
		{"eleven digits", "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 10000000000\n", nil},
		{"no mx", "version: STSv1\nmode: enforce\nmax_age: 1\n", nil},
		{"bad mx", "version: STSv1\nmode: enforce\nmx: mx..example.com\nmax_age: 1\n", nil},
		{"mid wildcard", "version: STSv1\nmode: enforce\nmx: mx.*.example.com\nmax_age: 1\n", nil},
		{"bare wildcard", "version: STSv1\nmode: enforce\nmx: *\nmax_age: 1\n", nil},
		{"repeated mode", "version: STSv1\nmode: enforce\nmode: none\nmx: mx.example.com\nmax_age: 1\n", nil},
		{"line without colon", "version: STSv1\nmode: enforce\nmx mx.example.com\nmax_age: 1\n", nil},
		{"HTML", "<html><body>version: STSv1</body></html>\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.body))
			if tt.want == nil {
				if err == nil {
					t.Fatalf("Parse = %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.Mode != tt.want.Mode || got.MaxAge != tt.want.MaxAge || !slices.Equal(got.MX, tt.want.MX) {
				t.Errorf("Parse = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseTXT(t *testing.T) {
	tests := []struct {
		txt, id string
	}{
		{"v=STSv1; id=20160831085700Z;", "20160831085700Z"},
		{"v=STSv1; id=20160831085700Z", "20160831085700Z"},
		{"v=STSv1;id=abc", "abc"},
		{"v=STSv1 ;  id=abc ; ", "abc"},
		{"v=STSv1; ext=x.y-z; id=abc;", "abc"},
		{"v=STSv1; id=" + strings.Repeat("a", 32), strings.Repeat("a", 32)},

		{"", ""},
		{"v=STSv1", ""},
		{"v=STSv1;", ""},
		{"id=abc; v=STSv1", ""},
		{" v=STSv1; id=abc", ""},
		{"v=STSv2; id=abc", ""},
		{"v=stsv1; id=abc", ""},
		{"v=STSv1; id=", ""},
		{"v=STSv1; id=" + strings.Repeat("a", 33), ""},
		{"v=STSv1; id=ab-c", ""},
		{"v=STSv1; id=ab c", ""},
		{"v=STSv1; id=abc; ext", ""},
		{"v=STSv1; id=abc; -ext=1", ""},
		{"v=STSv1; id=abc; ext=a=b", ""},
		{"v=STSv1; id=\u00e9", ""},
	}
	for _, tt := range tests {
		id, ok := ParseTXT(tt.txt)
		if id != tt.id || ok != (tt.id != "") {
			t.Errorf("ParseTXT(%q) = %q, %v, want %q", tt.txt, id, ok, tt.id)
		}
	}
}

func TestRecordID(t *testing.T) {
	tests := []struct {
		txts []string
		id   string
	}{
		{[]string{"v=STSv1; id=a1"}, "a1"},
		{[]string{"v=spf1 -all", "v=STSv1; id=a1", "hello"}, "a1"},
		{[]string{"v=STSv1; id=a1", "v=STSv1; id=a2"}, ""}, // ambiguous: no policy
		{[]string{"v=STSv1; id=a1", "v=STSv1; id=a1"}, ""},
		{[]string{"v=STSv1; id=a-1"}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		id, ok := recordID(tt.txts)
		if id != tt.id || ok != (tt.id != "") {
			t.Errorf("recordID(%q) = %q, %v, want %q", tt.txts, id, ok, tt.id)
		}
	}
}
