package message

import (
	"net/mail"
	"testing"
	"time"
)

func TestDate(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2026, 11, 23, 14, 32, 1, 999, time.UTC), "Mon, 23 Nov 2026 14:32:01 +0000"},
		{time.Date(2024, 2, 29, 0, 0, 0, 0, time.FixedZone("", 2*3600)), "Thu, 29 Feb 2024 00:00:00 +0200"},
		{time.Date(2025, 1, 5, 23, 59, 59, 0, time.FixedZone("", -(9*3600+30*60))), "Sun, 05 Jan 2025 23:59:59 -0930"},
		{time.Date(1999, 12, 31, 23, 59, 60, 0, time.UTC), "Sat, 01 Jan 2000 00:00:00 +0000"},
		// Offsets with seconds (local mean time) lose them; the minutes stay.
		{time.Date(1850, 6, 1, 12, 0, 0, 0, time.FixedZone("LMT", 3600+75)), "Sat, 01 Jun 1850 12:00:00 +0101"},
	}
	for _, tt := range tests {
		if got := Date(tt.t); got != tt.want {
			t.Errorf("Date(%v) = %q, want %q", tt.t, got, tt.want)
		}
		if got := string(AppendDate([]byte("Date: "), tt.t)); got != "Date: "+tt.want {
			t.Errorf("AppendDate = %q", got)
		}
	}
}

// TestDateParses checks the output against an independent RFC 5322 parser.
func TestDateParses(t *testing.T) {
	for _, sec := range []int64{0, 1e9, 1795000000, 4102444800} {
		for _, off := range []int{0, 3600, -5 * 3600, 14 * 3600, -12 * 3600} {
			in := time.Unix(sec, 0).In(time.FixedZone("", off))
			got, err := mail.ParseDate(Date(in))
			if err != nil {
				t.Fatalf("ParseDate(%q): %v", Date(in), err)
			}
			if !got.Equal(in) {
				t.Errorf("%q parsed back as %v, want %v", Date(in), got, in)
			}
		}
	}
}
