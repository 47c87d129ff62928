package maildir

import (
	"testing"
)

func TestEscapeHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"mx.example.org", "mx.example.org"},
		{"a/b", `a\057b`},
		{"a:b", `a\072b`},
		{"a,b", `a\054b`},
		{"/:,", `\057\072\054`},
		{"", ""},
	}
	for _, tt := range tests {
		if got := escapeHost(tt.in); got != tt.want {
			t.Errorf("escapeHost(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseName(t *testing.T) {
	tests := []struct {
		in      string
		want    Name
		wantErr bool
	}{
		{in: "1795000000.M123456P4242Q7.mx.example.org,S=5120",
			want: Name{1795000000, 123456, 4242, 7, "mx.example.org", 5120, -1, ""}},
		{in: "1795000000.M0P1Q1.host",
			want: Name{1795000000, 0, 1, 1, "host", -1, -1, ""}},
		{in: "1795000000.M5P1Q18446744073709551615.h,S=0,W=12:2,RS",
			want: Name{1795000000, 5, 1, 1<<64 - 1, "h", 0, 12, ""}},
		{in: `1.M1P1Q1.a\057b\072c,W=9,S=3`,
			want: Name{1, 1, 1, 1, `a\057b\072c`, 3, 9, ""}},
		{in: "1.M1P1Q1.", want: Name{1, 1, 1, 1, "", -1, -1, ""}},
		{in: "1795000000.M7K0123ABCD-0-1.h,S=9:2,S",
			want: Name{1795000000, 7, 0, 0, "h", 9, -1, "0123ABCD-0-1"}},
		{in: "1795000000.M7K.h", wantErr: true},
		{in: "1795000000.M7Ka_b.h", wantErr: true},
		{in: "1795000000.MK1.h", wantErr: true},
		{in: "", wantErr: true},
		{in: "1795000000.host", wantErr: true},
		{in: "1795000000.M1P2.host", wantErr: true},
		{in: "1795000000.P2M1Q3.host", wantErr: true},
		{in: "1795000000.M1000000P2Q3.host", wantErr: true},
		{in: "-1.M1P2Q3.host", wantErr: true},
		{in: "+1.M1P2Q3.host", wantErr: true},
		{in: "1.M1P2Q3.host,S=-5", wantErr: true},
		{in: "1.M1P2Q3.host,S=", wantErr: true},
		{in: "99999999999999999999.M1P2Q3.host", wantErr: true},
		{in: "1234567890.12345_6.oldstyle", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseName(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseName(%q) error = %v, want error: %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && got != tt.want {
			t.Errorf("ParseName(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestNameString(t *testing.T) {
	n := Name{1795000000, 42, 7, 3, `h\072x`, -1, -1, ""}
	if got, want := n.String(), `1795000000.M42P7Q3.h\072x`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	n.Size = 10
	if got, want := n.String(), `1795000000.M42P7Q3.h\072x,S=10`; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
