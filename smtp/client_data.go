package smtp

import (
	"bufio"
	"bytes"
	"io"
)

// writeDotStuffed copies a message to w in DATA form and adds the final
// ".". The queue keeps the message as it goes on the wire, CRLF line
// ends and dot-unstuffed, so the only change is RFC 5321 §4.5.2
// transparency: a line that starts with '.' gets one more. It reads
// through buf and writes runs of lines between such dots whole, so a
// large message costs a few reads and writes and no allocation, and it
// is never held in memory.
func writeDotStuffed(w *bufio.Writer, r io.Reader, buf []byte) error {
	bol := true // at the start of a line
	for {
		n, rerr := r.Read(buf)
		p := buf[:n]
		for len(p) > 0 {
			if bol && p[0] == '.' {
				if err := w.WriteByte('.'); err != nil {
					return err
				}
			}
			i := bytes.Index(p, lfDot)
			if i < 0 {
				if _, err := w.Write(p); err != nil {
					return err
				}
				bol = p[len(p)-1] == '\n'
				break
			}
			if _, err := w.Write(p[:i+1]); err != nil {
				return err
			}
			p = p[i+1:]
			bol = true
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	end := dotEnd
	if !bol {
		// A message without a final line end (none should reach the
		// queue so, but the dot must be on a line of its own).
		end = crlfDotEnd
	}
	_, err := w.Write(end)
	return err
}

var (
	lfDot      = []byte("\n.")
	dotEnd     = []byte(".\r\n")
	crlfDotEnd = []byte("\r\n.\r\n")
)
