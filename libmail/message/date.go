package message

import "time"

// dateLayout is the RFC 5322 §3.3 date-time with the optional day of week,
// a two-digit day and a numeric zone, the form that RFC 5322 §3.3 says
// generators should use. The two-digit day ("02") is allowed by the
// 1*2DIGIT day production and keeps the field fixed-width.
const dateLayout = "Mon, 02 Jan 2006 15:04:05 -0700"

// Date formats t as an RFC 5322 §3.3 date-time in t's own zone, for example
// "Mon, 23 Nov 2026 14:32:01 +0000". Callers choose the zone by choosing
// t's location; sub-minute zone offsets (historic local mean time) are
// truncated, since the format cannot express them.
func Date(t time.Time) string {
	var b [len(dateLayout) + 8]byte
	return string(AppendDate(b[:0], t))
}

// AppendDate appends Date(t) to b, so that a caller building a Received:
// field can do so without an extra allocation.
func AppendDate(b []byte, t time.Time) []byte {
	return t.AppendFormat(b, dateLayout)
}
