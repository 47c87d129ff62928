package imap

import "bytes"

// NewMessageBytes is NewMessage over bytes in memory (the folder's
// header cache, for ENVELOPE and header SEARCH): its header is cut from
// b in place, with no reader, buffer or copy per message. b must stay
// unchanged while the Message is in use.
func NewMessageBytes(b []byte) *Message {
	m := NewMessage(bytes.NewReader(b), int64(len(b)))
	n := headerLen(b)
	m.hdr = &Part{Start: 0, BodyStart: int64(n), End: int64(len(b)), Header: parseHeader(b[:n:n])}
	return m
}

// headerLen is how many bytes of b readPartHeader takes as the header:
// lines up to and with the empty line, or all of b; with its
// bufio.Reader's view of a line longer than the buffer (pieces of the
// buffer's size, the last of which may be a lone line end) and its
// maxHeader bound checked between pieces, so that both cut the same.
func headerLen(b []byte) int {
	bufSize := min(4096, max(16, len(b)))
	off := 0
	for off < maxHeader && off < len(b) {
		rest := b[off:]
		i := bytes.IndexByte(rest, '\n')
		switch {
		case i >= 0 && i+1 <= bufSize:
			line := rest[:i+1]
			off += len(line)
			if len(line) <= 2 && (string(line) == "\r\n" || string(line) == "\n") {
				return off
			}
		case len(rest) >= bufSize:
			off += bufSize // bufio.ErrBufferFull: a piece of a long line
		default:
			return len(b) // the last line, without a line end
		}
	}
	return off
}
