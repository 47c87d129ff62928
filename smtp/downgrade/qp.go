package downgrade

// qpEncoder encodes content as quoted-printable (RFC 2045 §6.7), piece
// by piece, keeping the column across pieces of one long line.
//
//   - Printable ASCII but '=' stays as it is (rule 2), and so do space
//     and tab, except at the end of a line (rule 3) or of a piece, where
//     it is not yet known whether the line ends.
//   - Every other octet becomes =XX (rule 1), with upper-case hex.
//   - A CRLF is a line break of the text (rule 4); a bare CR or LF is
//     content and is encoded, so that the decoded octets are the
//     original ones.
//   - Encoded lines are kept to 76 characters with soft line breaks,
//     "=" CRLF (rule 5), never inside an =XX.
//   - A '-' that would start an encoded line is encoded too, so that no
//     line of the result can be taken for a MIME boundary delimiter.
type qpEncoder struct {
	col int // characters on the encoded line so far
}

const qpLine = 76

const hexUpper = "0123456789ABCDEF"

// encode appends the encoding of one piece of input to dst. full says
// whether the piece ends with a line end.
func (q *qpEncoder) encode(dst, piece []byte, full bool) []byte {
	content, hard, lf := piece, false, false
	if full {
		switch n := len(piece); {
		case n >= 2 && piece[n-2] == '\r':
			content, hard = piece[:n-2], true
		default:
			content, lf = piece[:n-1], true
		}
	}
	for i, c := range content {
		last := i == len(content)-1 && !lf
		literal := c >= '!' && c <= '~' && c != '=' || (c == ' ' || c == '\t') && !last
		dst = q.token(dst, c, literal)
	}
	if lf {
		dst = q.token(dst, '\n', false)
	}
	if hard {
		dst = append(dst, '\r', '\n')
		q.col = 0
	}
	return dst
}

// token appends one octet, literal or =XX, after a soft line break if
// the line would get too long.
func (q *qpEncoder) token(dst []byte, c byte, literal bool) []byte {
	n := 3
	if literal {
		n = 1
	}
	// Leave room for the '=' of a soft line break.
	if q.col+n > qpLine-1 {
		dst = append(dst, '=', '\r', '\n')
		q.col = 0
	}
	if q.col == 0 && c == '-' {
		literal, n = false, 3
	}
	if literal {
		dst = append(dst, c)
	} else {
		dst = append(dst, '=', hexUpper[c>>4], hexUpper[c&0xf])
	}
	q.col += n
	return dst
}
