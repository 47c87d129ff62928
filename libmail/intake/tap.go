package intake

// Tap sees a message as intake stores it, once, while it streams through,
// so that a consumer such as a DKIM signer or verifier (RFC 6376) can
// hash the header and the body without reading the message again. The
// bytes are the stored form: CRLF line ends (converted for LF sources),
// the fields intake adds included. Each slice is valid only during the
// call. Calls come from the goroutine that writes the message. With no
// taps, none of this costs anything.
type Tap interface {
	// Header is called once per header field, in order: the Received:
	// field intake adds, the source's fields, then any Date: or
	// Message-ID: intake adds. field holds the field's raw bytes, name,
	// colon, body and folded lines, with its final CRLF (none only for a
	// message that ends inside its last field).
	Header(field []byte)
	// HeaderEnd is called after the last field.
	HeaderEnd()
	// Body is called with the bytes that follow the header: after the
	// empty line that ends it (which no call sees), or, when a line that
	// is no field ends the header early, from that line on.
	Body(p []byte)
	// End is called once the whole message is in and intake's checks
	// passed (End returned nil). A refused message never gets it.
	End()
}

// Aborter is a Tap that must hear when a message it saw will not be
// stored: Writer.Abort calls Abort on taps that have it, whether or not
// their End was called. A tap that runs a goroutine until End, as the
// DKIM signer and verifier do, needs it.
type Aborter interface {
	Abort()
}
