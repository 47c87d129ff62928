// Package downgrade converts a message with 8-bit content into 7-bit MIME
// for a server that does not announce 8BITMIME, which RFC 6152 §3 forbids
// sending 8-bit data to: Postfix's MIME output conversion
// (disable_mime_output_conversion).
//
// # What is converted
//
// A leaf part (or a message without MIME structure) whose content has an
// octet over 127 and whose Content-Transfer-Encoding is 7bit, 8bit,
// binary or absent is encoded as quoted-printable (RFC 2045 §6.7) and
// labelled so; a message without MIME-Version that gets the label gets
// MIME-Version too. A multipart or message/rfc822 part labelled 8bit or
// binary is walked into (RFC 2046 §5.1, §5.2.1: composite types take no
// other encoding) and relabelled 7bit, and so is a leaf labelled 8bit or
// binary whose content turns out to be 7-bit. Nothing else changes:
// parts without 8-bit content, and their headers, go out byte for byte.
// A message with no octet over 127 at all is not touched.
//
// # What cannot be
//
// 8-bit octets in a header field (RFC 2047 encoding needs to know each
// field's syntax and would change what signatures cover), in a multipart
// preamble or epilogue, in a part already encoded as quoted-printable or
// base64, in a message/* type that must stay unencoded (delivery-status,
// partial, external-body, ...), in a multipart whose boundary cannot be
// read, or deeper than MaxDepth. Postfix sends such content as it is;
// postern returns it to the sender with 5.6.3 (RFC 3463: conversion
// required but not supported), as RFC 6152 wants.
//
// # Streaming
//
// The queue file is read twice, never held in memory: Scan walks the
// structure and decides, per entity, what happens to it (one byte per
// entity); Write walks it again and applies the plan. The plan must be
// known before an entity's header is written, because the header comes
// first and whether its content has 8-bit octets is known only at its
// end. A hand-written line walker is used rather than go-message, whose
// readers re-encode and re-serialize what they parse: here every part
// that needs nothing is copied byte for byte, and only the bytes that
// must change do.
package downgrade
