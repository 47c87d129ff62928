package pop3d

import (
	"bufio"
	"io"
)

// dotWriter writes a multi-line response body (RFC 1939 §3): a line that
// begins with '.' gets another '.', and a body that does not end in CRLF
// gets one before the terminating ".".
type dotWriter struct {
	w   *bufio.Writer
	bol bool // at the beginning of a line
	cr  bool // the last byte was CR
	n   int64
}

func newDotWriter(w *bufio.Writer) *dotWriter { return &dotWriter{w: w, bol: true} }

func (d *dotWriter) Write(p []byte) (int, error) {
	for i, c := range p {
		if d.bol && c == '.' {
			if err := d.w.WriteByte('.'); err != nil {
				return i, err
			}
		}
		if err := d.w.WriteByte(c); err != nil {
			return i, err
		}
		d.bol = c == '\n'
		d.cr = c == '\r'
		d.n++
	}
	return len(p), nil
}

// close ends the body with ".".
func (d *dotWriter) close() error {
	if !d.bol {
		d.w.WriteString("\r\n")
	}
	_, err := d.w.WriteString(".\r\n")
	return err
}

// copyTop writes the header section of the message in r (CRLF form),
// the empty line after it, and then at most lines lines of the body
// (RFC 1939 §7 TOP). It stops reading there.
func copyTop(w io.Writer, r io.Reader, lines int) error {
	br := bufio.NewReaderSize(r, 16<<10)
	inHeader := true
	bol := true
	for {
		if !inHeader && bol && lines == 0 {
			return nil
		}
		piece, err := br.ReadSlice('\n')
		if len(piece) > 0 {
			if inHeader && bol && (string(piece) == "\r\n" || string(piece) == "\n") {
				inHeader = false
			} else if !inHeader && piece[len(piece)-1] == '\n' {
				lines--
			}
			if _, werr := w.Write(piece); werr != nil {
				return werr
			}
			bol = piece[len(piece)-1] == '\n'
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
