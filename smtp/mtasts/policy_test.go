package mtasts

import "testing"

func TestMatch(t *testing.T) {
	p := &Policy{Mode: ModeEnforce, MX: []string{"mx1.example.com", "*.backup.example.com", "MX2.Example.COM."}}
	tests := []struct {
		host string
		want bool
	}{
		{"mx1.example.com", true},
		{"MX1.EXAMPLE.COM", true},
		{"mx1.example.com.", true},
		{"mx2.example.com", true},
		{"a.backup.example.com", true},
		{"A.Backup.Example.Com.", true},
		{"backup.example.com", false},     // the wildcard needs one more label
		{"a.b.backup.example.com", false}, // and only one
		{".backup.example.com", false},
		{"mx3.example.com", false},
		{"example.com", false},
		{"xmx1.example.com", false},
		{"", false},
		{".", false},
	}
	for _, tt := range tests {
		if got := p.Match(tt.host); got != tt.want {
			t.Errorf("Match(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
	if (&Policy{Mode: ModeNone}).Match("mx1.example.com") {
		t.Error("empty policy matched")
	}
}
