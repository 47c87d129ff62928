// Package dsn writes delivery status notifications: RFC 3464 reports in
// an RFC 6522 multipart/report, with a human-readable part, the
// message/delivery-status part, and the original message or its header
// (RFC 3461 RET, bounce_size_limit). Messages that needed SMTPUTF8 are
// returned with the RFC 6533 types (message/global, message/global-
// delivery-status).
package dsn
