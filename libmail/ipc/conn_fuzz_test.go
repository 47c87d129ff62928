package ipc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
)

// FuzzReadFrame reads frames from arbitrary bytes through readers with a
// tiny and a normal buffer and checks them against a model that splits
// the whole input at newlines: the same frames in the same order, no
// frame of MaxFrame bytes or more, an over-long line reported as such, a
// final line without newline reported as truncated. With pad set, a run
// of MaxFrame-2 bytes is put in the middle of the input so that lines
// just under, at and over the limit occur.
func FuzzReadFrame(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, pad bool) {
		if pad {
			mid := len(data) / 2
			data = bytes.Join([][]byte{data[:mid], bytes.Repeat([]byte{'x'}, MaxFrame-2), data[mid:]}, nil)
		}
		for _, size := range []int{16, 4096} {
			r := bufio.NewReaderSize(bytes.NewReader(data), size)
			rest := data
			for i := 0; ; i++ {
				frame, err := ReadFrame(r)
				line, tail, found := bytes.Cut(rest, []byte{'\n'})
				switch {
				case len(rest) == 0:
					if err != io.EOF || frame != nil {
						t.Fatalf("buf %d frame %d: at end of input got %q, %v; want io.EOF", size, i, frame, err)
					}
				case found && len(line) >= MaxFrame, !found && len(line) > MaxFrame:
					if err == nil || !strings.Contains(err.Error(), "frame longer") {
						t.Fatalf("buf %d frame %d: line of %d bytes gave %d bytes, %v; want too long", size, i, len(line), len(frame), err)
					}
				case !found:
					if err != io.ErrUnexpectedEOF || frame != nil {
						t.Fatalf("buf %d frame %d: unterminated %q gave %q, %v; want io.ErrUnexpectedEOF", size, i, line, frame, err)
					}
				default:
					if err != nil || !bytes.Equal(frame, line) {
						t.Fatalf("buf %d frame %d: got %d bytes, %v; want %d bytes", size, i, len(frame), err, len(line))
					}
					if len(frame) >= MaxFrame || bytes.IndexByte(frame, '\n') >= 0 {
						t.Fatalf("buf %d frame %d: %d bytes with a newline or over the limit", size, i, len(frame))
					}
					rest = tail
					continue
				}
				break
			}
		}
	})
}

// FuzzDecode decodes arbitrary frames. Decode must accept exactly one
// JSON value, with nothing but white space around it, and must reject
// fields the target does not have; what it decodes must encode and
// decode again to the same value, the way Send and Recv would carry it.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, frame []byte) {
		var raw json.RawMessage
		err := Decode(frame, &raw)
		if valid := json.Valid(frame); (err == nil) != valid {
			t.Fatalf("Decode into RawMessage: %v, but json.Valid says %v for %q", err, valid, frame)
		}
		var h Hello
		if err := Decode(frame, &h); err != nil {
			return
		}
		if !json.Valid(frame) {
			t.Fatalf("Decode accepted %q, which is not one JSON value", frame)
		}
		var m map[string]any
		if json.Unmarshal(frame, &m) == nil {
			for k := range m {
				if !strings.EqualFold(k, "channel") && !strings.EqualFold(k, "version") {
					t.Fatalf("Decode accepted unknown field %q in %q", k, frame)
				}
			}
		}
		var out bytes.Buffer
		c := &Conn{w: bufio.NewWriter(&out)}
		if err := c.Send(h); err != nil {
			t.Fatalf("Send(%+v): %v", h, err)
		}
		c.Flush()
		again, err := ReadFrame(bufio.NewReader(&out))
		if err != nil {
			t.Fatalf("ReadFrame of a sent frame: %v", err)
		}
		var h2 Hello
		if err := Decode(again, &h2); err != nil || !reflect.DeepEqual(h, h2) {
			t.Fatalf("%+v sent as %q decoded as %+v, %v", h, again, h2, err)
		}
	})
}
