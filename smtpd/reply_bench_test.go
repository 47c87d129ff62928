package smtpd

import (
	"bufio"
	"io"
	"testing"
)

// BenchmarkWriteReply writes the replies of a pipelined transaction and
// an EHLO reply: what smtpd writes for every message it accepts.
func BenchmarkWriteReply(b *testing.B) {
	c := &conn{w: bufio.NewWriter(io.Discard)}
	ehlo := &Reply{Code: 250, Text: "mail.example.test\nPIPELINING\nSIZE 10240000\nENHANCEDSTATUSCODES\n8BITMIME\nDSN\nSMTPUTF8\nCHUNKING"}
	b.ReportAllocs()
	for b.Loop() {
		c.writeReply(ehlo)
		c.writeReply(replyMailOK)
		for range 10 {
			c.writeReply(replyRcptOK)
		}
		c.writeReply(replyData)
		c.writeReply(replyOK)
		c.w.Flush()
	}
}
