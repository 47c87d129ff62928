package maillog

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestLineForm(t *testing.T) {
	var b bytes.Buffer
	now := time.Date(2026, 11, 23, 14, 32, 1, 0, time.Local)
	l := ForWriter(&b, "smtpd", "mail.example.test", func() time.Time { return now })
	l.Info("%s: client=%s", "1J0UG67L94S6LET3", "unknown[192.0.2.7]")
	l.Warn("hostile HELO %q", "evil\r\nInjected: line")
	l.Debug("not shown")
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines: %q", len(lines), b.String())
	}
	re := regexp.MustCompile(`^Nov 23 14:32:01 mail postern/smtpd\[\d+\]: 1J0UG67L94S6LET3: client=unknown\[192\.0\.2\.7\]$`)
	if !re.MatchString(lines[0]) {
		t.Errorf("line %q", lines[0])
	}
	if !strings.Contains(lines[1], "]: warning: hostile HELO \"evil\\r\\nInjected: line\"") {
		t.Errorf("line %q", lines[1])
	}
}

func TestDeliveryLine(t *testing.T) {
	d := Delivery{QueueID: "1J0UG67L94S6LET3", To: "demo@example.test", OrigTo: "postmaster@example.test", Relay: "local",
		Delay: 123 * time.Millisecond, Delays: Delays{10 * time.Millisecond, 0, 0, 113 * time.Millisecond},
		DSN: "2.0.0", Status: "sent", Reply: "delivered to maildir"}
	want := "1J0UG67L94S6LET3: to=<demo@example.test>, orig_to=<postmaster@example.test>, relay=local, delay=0.12, delays=0.01/0/0/0.11, dsn=2.0.0, status=sent (delivered to maildir)"
	if got := d.Line(); got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
}

func TestSeconds(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0", 3 * time.Millisecond: "0", 10 * time.Millisecond: "0.01", 123 * time.Millisecond: "0.12",
		4300 * time.Millisecond: "4.3", 12600 * time.Millisecond: "13", 40 * time.Microsecond: "0", time.Second: "1",
	} {
		if got := Seconds(d); got != want {
			t.Errorf("Seconds(%v) = %q, want %q", d, got, want)
		}
	}
}
