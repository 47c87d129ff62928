package message

import "bytes"

// Fields calls fn for each field of a header section held whole in h, in
// order, with the field's name (WSP around it removed) and its raw bytes:
// the name, the colon, the body and any folded lines, with their line
// endings, exactly as they are in h. It returns the length of the fields,
// that is the offset of the empty line that ends the header section, of
// the first line that is not part of a field, or len(h).
//
// The rules are ScanHeader's, so that a writer that looks at a header in
// memory (package intake) and every reader that scans the stored message
// agree on where its fields end: a blank line ends the section, and so
// does a line that is neither a field (a valid name and a colon, RFC
// 5322 §2.2) nor the continuation of one (RFC 5322 §2.2.3). A last line
// without a line ending is a field when it looks like one. Both slices
// are parts of h.
func Fields(h []byte, fn func(name, field []byte)) int {
	start := -1 // where the field in progress began; -1 when none
	var name []byte
	i := 0
	for i < len(h) {
		end := len(h)
		if j := bytes.IndexByte(h[i:], '\n'); j >= 0 {
			end = i + j + 1
		}
		line := h[i:end]
		if isBlankLine(line) {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if start < 0 {
				break // a continuation of nothing
			}
			i = end
			continue
		}
		colon, ok := fieldColon(trimEOL(line))
		if !ok {
			break
		}
		if start >= 0 {
			fn(name, h[start:i])
		}
		start, name = i, trimWSP(line[:colon])
		i = end
	}
	if start >= 0 {
		fn(name, h[start:i])
	}
	return i
}
