package intake

import "bytes"

var (
	crlf     = []byte("\r\n")
	crlfCRLF = []byte("\r\n\r\n")
)

// checkCRLF enforces strict CRLF on one piece: every LF must follow a CR
// and every CR must precede an LF, also across pieces; and no NUL. It
// reports whether the piece may be stored.
//
// The problem named is the first in the message, however it was cut into
// pieces, so the reply does not depend on how the client sent it.
func (w *Writer) checkCRLF(p []byte) bool {
	if nul := bytes.IndexByte(p, 0); nul >= 0 {
		if nul == 0 || w.checkCRLF(p[:nul]) {
			w.fail(ErrNUL)
		}
		return false
	}
	start := 0
	if w.prevCR {
		if p[0] != '\n' {
			w.fail(ErrBareCR)
			return false
		}
		start = 1
	}
	paired := 0 // CRs known to be followed by LF
	for i := start; ; {
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			break
		}
		k := i + j
		if k == 0 || p[k-1] != '\r' {
			// Name the first problem, whatever the pieces: a bare CR
			// before this LF comes first.
			if bareCR(p[start:k]) {
				w.fail(ErrBareCR)
			} else {
				w.fail(ErrBareLF)
			}
			return false
		}
		paired++
		i = k + 1
	}
	crs := bytes.Count(p[start:], []byte{'\r'})
	w.prevCR = p[len(p)-1] == '\r'
	if w.prevCR {
		crs--
	}
	if crs != paired {
		w.fail(ErrBareCR)
		return false
	}
	return true
}

// valid checks one piece for the source's line ends and NUL, and says
// whether it may be stored.
func (w *Writer) valid(p []byte) bool {
	if w.lines != LF {
		return w.checkCRLF(p)
	}
	// Name the first problem, as checkCRLF does.
	if nul := bytes.IndexByte(p, 0); nul >= 0 {
		if nul == 0 || w.checkLF(p[:nul]) {
			w.fail(ErrNUL)
		}
		return false
	}
	return w.checkLF(p)
}

// writeLF stores one checked piece from a source with LF line ends: an LF
// without its CR gets one, so the message is stored in CRLF form.
func (w *Writer) writeLF(p []byte) {
	start := 0
	for i := 0; ; {
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			break
		}
		k := i + j
		i = k + 1
		if k > 0 && p[k-1] == '\r' || k == 0 && w.prevCR {
			continue
		}
		w.stream(p[start:k])
		w.stream(crlf)
		start = k + 1
	}
	if start < len(p) {
		w.stream(p[start:])
	}
	w.prevCR = p[len(p)-1] == '\r'
}

// checkLF checks a piece from an LF source: every CR must be followed by
// LF, also across pieces.
func (w *Writer) checkLF(p []byte) bool {
	if w.prevCR && p[0] != '\n' || bareCR(p) {
		w.fail(ErrBareCR)
		return false
	}
	return true
}

// bareCR reports whether p holds a CR followed by anything but LF.
func bareCR(p []byte) bool {
	for i := bytes.IndexByte(p, '\r'); i >= 0; {
		if i+1 < len(p) && p[i+1] != '\n' {
			return true
		}
		j := bytes.IndexByte(p[i+1:], '\r')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}
