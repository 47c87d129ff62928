// Package message holds the small, allocation-conscious pieces of message
// handling that sit on the local delivery hot path.
//
// LFWriter turns the SMTP wire form of a message (CRLF line endings, as
// RFC 5321 §2.3.8 requires on the wire) into the Unix form that Maildir
// files use (LF line endings, see cr.yp.to/proto/maildir.html), streaming
// through one fixed buffer so that message size never drives memory use.
//
// ScanHeader reads only the header section of a message (RFC 5322 §2.1)
// and reports each unfolded field, so that callers can look for
// Delivered-To: (mail loop detection) or Message-ID: without reading or
// parsing the body.
//
// Date formats a time as an RFC 5322 §3.3 date-time for Received:, Date:
// and similar fields.
package message
