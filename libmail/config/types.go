package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time span written the Postfix way: a number with an
// optional unit s, m, h, d or w ("300s", "5d"). A bare number means seconds.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalText implements encoding.TextUnmarshaler; TOML integers arrive
// here as their decimal text, so `timeout = 300` works too.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// String prints whole days as "Nd" and other whole seconds as "Ns", the
// way Postfix documents its defaults ("5d", "300s", "4000s").
func (d Duration) String() string {
	v := time.Duration(d)
	if v%time.Second != 0 {
		return v.String()
	}
	s := int64(v / time.Second)
	if s != 0 && s%86400 == 0 {
		return strconv.FormatInt(s/86400, 10) + "d"
	}
	return strconv.FormatInt(s, 10) + "s"
}

// ParseDuration parses the Postfix time syntax. Go's own syntax ("1m30s",
// "250ms") is accepted as well, for the few sub-second settings.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty time value")
	}
	units := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}
	num, unit := s, time.Second
	if u, ok := units[s[len(s)-1]]; ok {
		num, unit = s[:len(s)-1], u
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		if d, gerr := time.ParseDuration(s); gerr == nil && d >= 0 {
			return d, nil
		}
		return 0, fmt.Errorf("bad time value %q: want a number with an optional unit s, m, h, d or w", s)
	}
	if n < 0 {
		return 0, fmt.Errorf("bad time value %q: negative", s)
	}
	if n > math.MaxInt64/int64(unit) {
		return 0, fmt.Errorf("bad time value %q: too large", s)
	}
	return time.Duration(n) * unit, nil
}
