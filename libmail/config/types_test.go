package config

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{"300s", 300 * time.Second, false},
		{"300", 300 * time.Second, false},
		{"5d", 5 * 24 * time.Hour, false},
		{"1w", 7 * 24 * time.Hour, false},
		{"4000s", 4000 * time.Second, false},
		{"250ms", 250 * time.Millisecond, false},
		{"", 0, true},
		{"-5s", 0, true},
		{"5x", 0, true},
		{"s", 0, true},
	} {
		got, err := ParseDuration(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, bad=%v", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func TestDurationString(t *testing.T) {
	for d, want := range map[time.Duration]string{
		300 * time.Second:      "300s",
		4000 * time.Second:     "4000s",
		5 * 24 * time.Hour:     "5d",
		time.Hour:              "3600s",
		250 * time.Millisecond: "250ms",
		0:                      "0s",
	} {
		if got := Duration(d).String(); got != want {
			t.Errorf("Duration(%v).String() = %q, want %q", d, got, want)
		}
	}
}
