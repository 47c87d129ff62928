// Package imap is imapd's protocol layer: it reads and parses IMAP4rev1
// (RFC 3501) and IMAP4rev2 (RFC 9051) commands with the extensions imapd
// announces, writes responses, and derives from a message's bytes what
// IMAP shows of it (ENVELOPE, BODYSTRUCTURE, BODY[section], BINARY), and
// evaluates SEARCH, SORT and THREAD.
//
// It knows no mailbox store. Messages arrive as an io.ReaderAt or a
// reader with CRLF line ends and a size, flags as strings, UIDs as
// uint32, so the session code joins it to libmail/mailbox without either
// depending on the other.
// It is our own rather than go-imap's, because go-imap v2's server is a
// pre-release without CONDSTORE (docs/architecture.md, "imapd").
//
// One concern per file: reader.go gathers a command's bytes (lines and
// literals, with continuation requests, limits and APPEND sinks),
// lexer.go the tokens, command.go the command types, parse*.go the
// grammar, seqset.go sequence sets, format.go the canonical printed form
// the golden tests pin; writer.go the responses, utf7.go mailbox names,
// responses.go, fetch.go and searchresp.go the common untagged, FETCH
// and SEARCH responses; message.go, stream.go, envelope.go,
// bodystructure.go and section.go the message-derived data;
// search.go, sort.go, subject.go and thread.go the evaluation;
// compress.go COMPRESS=DEFLATE.
package imap
