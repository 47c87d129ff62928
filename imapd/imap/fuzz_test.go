package imap

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseCommand feeds arbitrary client bytes through the Reader and
// the parser: nothing may panic, and every command that parses must
// print (Format) to a form that parses to the same command.
func FuzzParseCommand(f *testing.F) {
	f.Add([]byte("a1 FETCH 1:* (FLAGS BODY.PEEK[1.HEADER.FIELDS (From)]<0.10>)\r\n"))
	f.Add([]byte("a1 SEARCH CHARSET UTF-8 OR (FROM {3+}\r\nabc) NOT UID 1:*\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := testLimits()
		r := NewReader(strings.NewReader(string(data)), lim, func() error { return nil })
		for range 20 {
			cmd, err := r.ReadCommand()
			var e *Error
			if errors.As(err, &e) {
				if e.Fatal {
					return
				}
				continue
			}
			if err != nil {
				return
			}
			checkRoundTrip(t, Format(cmd))
		}
	})
}
